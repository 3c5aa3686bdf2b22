//! The inbox: an event is claimed once, and an event of a township that does not
//! exist is poison rather than a failure to retry for ever.

use chrono::Utc;
use mashang_bus::{BusError, HandlerError, Service, inbox};
use mashang_db::testing::TestDatabase;
use mashang_domain::events::{CaseCreated, Envelope};
use mashang_domain::{CaseId, GridNodeId, ReportId, TenantId};

fn created(tenant: TenantId) -> Envelope {
    let payload = CaseCreated {
        case_id: CaseId::new(),
        case_version: 1,
        report_id: ReportId::new(),
        tracking_number: "T-20261203-0001".into(),
        grid_node_id: GridNodeId::new(),
        category: "roads".into(),
        first_response_due: Utc::now(),
        priority: None,
        resolution_due: None,
    };
    Envelope::new(tenant, Utc::now(), &payload).expect("an envelope")
}

#[tokio::test]
async fn an_event_is_claimed_once_and_one_of_an_unknown_township_is_poison() {
    let database = TestDatabase::create().await;
    let tenant = TenantId::new();
    let mut owner = database.owner().await;
    sqlx::query("INSERT INTO routing.tenants (id, code, name) VALUES ($1, 'inboxt', '收件镇')")
        .bind(tenant.as_uuid())
        .execute(&mut owner)
        .await
        .expect("a township");

    let event = created(tenant);
    let mut tx = database.db.tenant(tenant).await.expect("a transaction");
    assert!(
        inbox::claim(&mut tx, Service::Analytics, "analytics", &event)
            .await
            .expect("claimed")
    );
    assert!(
        !inbox::claim(&mut tx, Service::Analytics, "analytics", &event)
            .await
            .expect("seen")
    );
    tx.commit().await.expect("commit");

    let stranger = created(TenantId::new());
    let mut tx = database
        .db
        .tenant(stranger.tenant_id)
        .await
        .expect("a transaction");
    let err = inbox::claim(&mut tx, Service::Analytics, "analytics", &stranger)
        .await
        .expect_err("no such township");
    assert!(matches!(err, BusError::UnknownTenant(id) if id == stranger.tenant_id.as_uuid()));
    assert!(matches!(HandlerError::from(err), HandlerError::Poison(_)));
}
