//! The operator's view of parked events: `mashang events dead` and `mashang events replay`.

use anyhow::Context as _;
use mashang_bus::Service;
use mashang_bus::dead_letter::{self, DeadLetter, Replay};
use mashang_db::{Db, DbConfig};

use crate::cli::{EventsCommand, ServiceArg};

/// `mashang events …`.
pub async fn run(command: EventsCommand) -> anyhow::Result<()> {
    match command {
        EventsCommand::Dead(args) => {
            let db = connect(&args.database_url).await?;
            let rows = dead_letter::list(&db, args.service.map(service))
                .await
                .context("listing dead letters")?;
            print!("{}", table(&rows));
            Ok(())
        }
        EventsCommand::Replay(args) => {
            let db = connect(&args.database_url).await?;
            let which = match args.id {
                Some(id) => Replay::Id(id),
                None => Replay::All,
            };
            let marked = dead_letter::request_replay(&db, which, args.service.map(service))
                .await
                .context("marking dead letters for replay")?;
            if marked == 0 && args.id.is_some() {
                anyhow::bail!("no parked event has that id (see `mashang events dead`)");
            }
            println!(
                "{marked} event(s) marked for replay; each service's running consumer handles them \
                 within seconds, and `mashang events dead` lists what fails again"
            );
            Ok(())
        }
    }
}

async fn connect(url: &str) -> anyhow::Result<Db> {
    Db::connect(&DbConfig::new(url.to_owned()))
        .await
        .context("connecting to the database")
}

fn service(arg: ServiceArg) -> Service {
    match arg {
        ServiceArg::Intake => Service::Intake,
        ServiceArg::Routing => Service::Routing,
        ServiceArg::Notification => Service::Notification,
        ServiceArg::Analytics => Service::Analytics,
    }
}

/// One tab-separated line per parked event under a header; a message that was not an
/// envelope shows its row id and `-` for what it lacks.
fn table(rows: &[DeadLetter]) -> String {
    let mut out =
        String::from("SERVICE\tEVENT ID\tTYPE\tTENANT\tCOUNT\tFIRST PARKED\tREPLAY\tFIRST ERROR\n");
    for r in rows {
        let dash = || "-".to_owned();
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            r.service,
            r.event_id.unwrap_or(r.id),
            r.event_type.clone().unwrap_or_else(dash),
            r.tenant_id.map_or_else(dash, |t| t.to_string()),
            r.count,
            r.first_parked_at.format("%Y-%m-%dT%H:%M:%SZ"),
            if r.replay_requested_at.is_some() {
                "pending"
            } else {
                "-"
            },
            one_line(&r.first_error),
        ));
    }
    out
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn the_table_names_service_type_tenant_first_error_and_count() {
        let tenant = Uuid::now_v7();
        let event = Uuid::now_v7();
        let rows = [
            DeadLetter {
                service: Service::Routing,
                id: Uuid::now_v7(),
                event_id: Some(event),
                event_type: Some("report.submitted".into()),
                tenant_id: Some(tenant),
                first_error: "unknown tenant\nsecond line".into(),
                last_error: "unknown tenant".into(),
                count: 3,
                first_parked_at: Utc::now(),
                replay_requested_at: None,
            },
            DeadLetter {
                service: Service::Intake,
                id: Uuid::now_v7(),
                event_id: None,
                event_type: None,
                tenant_id: None,
                first_error: "not an envelope".into(),
                last_error: "not an envelope".into(),
                count: 1,
                first_parked_at: Utc::now(),
                replay_requested_at: Some(Utc::now()),
            },
        ];
        let printed = table(&rows);
        let lines: Vec<&str> = printed.lines().collect();
        assert_eq!(lines.len(), 3);
        let first: Vec<&str> = lines[1].split('\t').collect();
        assert_eq!(first[0], "routing");
        assert_eq!(first[1], event.to_string());
        assert_eq!(first[2], "report.submitted");
        assert_eq!(first[3], tenant.to_string());
        assert_eq!(first[4], "3");
        assert_eq!(first[7], "unknown tenant second line");
        let second: Vec<&str> = lines[2].split('\t').collect();
        assert_eq!(second[1], rows[1].id.to_string());
        assert_eq!(second[2], "-");
        assert_eq!(second[6], "pending");
    }
}
