//! Readiness probes for the process's dependencies.

use std::sync::Arc;

use async_trait::async_trait;
use mashang_bus::Bus;
use mashang_db::Db;
use mashang_http::Probe;
use mashang_storage::BlobStore;

/// The database answers.
pub struct DbProbe(pub Db);

#[async_trait]
impl Probe for DbProbe {
    fn name(&self) -> &'static str {
        "database"
    }
    async fn check(&self) -> Result<(), String> {
        self.0
            .ping()
            .await
            .map_err(|e| format!("{:#}", anyhow::Error::from(e)))
    }
}

/// The bus is connected.
pub struct BusProbe(pub Arc<dyn Bus>);

#[async_trait]
impl Probe for BusProbe {
    fn name(&self) -> &'static str {
        "bus"
    }
    async fn check(&self) -> Result<(), String> {
        self.0.check().await.map_err(|e| e.to_string())
    }
}

/// The blob store answers.
pub struct StorageProbe(pub Arc<dyn BlobStore>);

#[async_trait]
impl Probe for StorageProbe {
    fn name(&self) -> &'static str {
        "storage"
    }
    async fn check(&self) -> Result<(), String> {
        self.0
            .check()
            .await
            .map_err(|e| format!("{:#}", anyhow::Error::from(e)))
    }
}
