//! Report categories, per tenant, with the defaults of 12345 hotline practice.

use mashang_db::TenantTx;

use super::DirectoryError;

/// A default category: code, Chinese name, English name, icon.
pub const DEFAULTS: [(&str, &str, &str, &str); 8] = [
    ("dispute", "矛盾纠纷", "Disputes", "handshake"),
    (
        "sanitation",
        "环境卫生",
        "Environment and sanitation",
        "broom",
    ),
    ("roads", "道路交通", "Roads and traffic", "road"),
    (
        "utilities",
        "水电气暖",
        "Water, power, gas and heating",
        "bolt",
    ),
    ("safety", "治安隐患", "Public safety hazards", "shield"),
    (
        "health",
        "公共卫生与疫情防控",
        "Public health and epidemic control",
        "cross",
    ),
    ("policy", "政策咨询", "Policy questions", "question"),
    ("other", "其他", "Other", "dots"),
];

/// Gives the transaction's tenant the default categories (skipping codes it has).
pub async fn insert_defaults(tx: &mut TenantTx) -> Result<(), DirectoryError> {
    for (position, (code, name_zh, name_en, icon)) in DEFAULTS.iter().enumerate() {
        sqlx::query(
            "INSERT INTO routing.categories (tenant_id, code, name_zh, name_en, icon, position) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, code) DO NOTHING",
        )
        .bind(tx.tenant().as_uuid())
        .bind(code)
        .bind(name_zh)
        .bind(name_en)
        .bind(icon)
        .bind(position as i32)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
