//! Choosing the SLA policy of a new case: the tenant's policy for the category and
//! priority, else its policy for any category, else the defaults.

use mashang_db::TenantTx;
use mashang_domain::sla::SlaPolicy;

/// The policy in force for `category` at `priority` (`normal` or `urgent`).
pub async fn pick(tx: &mut TenantTx, category: &str, priority: &str) -> anyhow::Result<SlaPolicy> {
    let row: Option<(serde_json::Value,)> = sqlx::query_as(
        "SELECT policy FROM routing.sla_policies WHERE tenant_id = $1 AND priority = $3 AND category IN ($2, '*') \
         ORDER BY (category = '*') LIMIT 1",
    )
    .bind(tx.tenant().as_uuid())
    .bind(category)
    .bind(priority)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some((policy,)) => serde_json::from_value(policy)?,
        None => default_for(priority),
    })
}

/// The category's default priority and whether new cases wait in triage.
pub async fn intake_choices(tx: &mut TenantTx, category: &str) -> anyhow::Result<(String, bool)> {
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT c.default_priority, c.triage, s.triage_mode FROM routing.categories c \
         LEFT JOIN routing.tenant_settings s ON s.tenant_id = c.tenant_id \
         WHERE c.tenant_id = $1 AND c.code = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(category)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some((priority, triage, mode)) => {
            let held = match triage.as_str() {
                "triage" => true,
                "auto" => false,
                _ => mode.as_deref() == Some("triage"),
            };
            (priority, held)
        }
        None => ("normal".to_owned(), false),
    })
}

/// A policy the tenant set, for a category (`*` for any) and a priority.
#[derive(Clone, Debug)]
pub struct StoredPolicy {
    /// The category's code, or `*`.
    pub category: String,
    /// `normal` or `urgent`.
    pub priority: String,
    /// The policy.
    pub policy: SlaPolicy,
}

/// Every policy the tenant set (the rest of its categories use `*` or the defaults).
pub async fn stored(tx: &mut TenantTx) -> anyhow::Result<Vec<StoredPolicy>> {
    let rows: Vec<(String, String, serde_json::Value)> = sqlx::query_as(
        "SELECT category, priority, policy FROM routing.sla_policies WHERE tenant_id = $1 \
         ORDER BY category, priority",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|(category, priority, policy)| {
            Ok(StoredPolicy {
                category,
                priority,
                policy: serde_json::from_value(policy)?,
            })
        })
        .collect()
}

/// The built-in policy of a priority, when the tenant set none.
pub fn default_for(priority: &str) -> SlaPolicy {
    if priority == "urgent" {
        SlaPolicy::urgent()
    } else {
        SlaPolicy::standard()
    }
}
