//! `mashang analytics rebuild`: the case facts and roll-ups recomputed from the events
//! analytics kept.

use anyhow::Context as _;
use mashang_analytics::projection::{rebuild_tenant, townships};
use mashang_db::{Db, DbConfig};

use crate::cli::AnalyticsCommand;

/// `mashang analytics …`.
pub async fn run(command: AnalyticsCommand) -> anyhow::Result<()> {
    match command {
        AnalyticsCommand::Rebuild(args) => {
            let db = Db::connect(&DbConfig::new(args.database_url))
                .await
                .context("connecting to the database")?;
            let list = townships(&db, args.tenant.as_deref())
                .await
                .context("listing the townships")?;
            if list.is_empty() && args.tenant.is_some() {
                anyhow::bail!("no township has that code");
            }
            for (tenant, code) in list {
                let done = rebuild_tenant(&db, tenant)
                    .await
                    .with_context(|| format!("rebuilding {code}"))?;
                println!(
                    "{code}: {} report(s) and {} scan(s) recomputed",
                    done.reports, done.scans
                );
            }
            Ok(())
        }
    }
}
