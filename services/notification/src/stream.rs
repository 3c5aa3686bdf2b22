//! `GET /api/v1/inbox/stream`: the signed-in person's new notices as server-sent
//! events, so a worker with the console open sees a new case within a second.
//!
//! A trigger on `notification.notices` sends `NOTIFY mashang_notices` with the row's
//! township, person and id; one listener per process fans the ids out to the open
//! streams, and each stream reads its own person's notice in their township's
//! transaction (row-level security as everywhere). On connecting, a stream first says
//! how many notices are unread (`event: unread`); then each new notice comes as
//! `event: notice` with the notice as JSON and the new unread count; a comment every
//! 15 s keeps proxies from closing it. Streams are limited per person and per process.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use mashang_auth::Auth;
use mashang_db::Db;
use mashang_domain::{TenantId, UserId};
use mashang_http::ApiError;
use serde_json::json;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::NotificationState;
use crate::notices::{Notice, unread};
use mashang_http::openapi::{NotFoundError, StaffErrors, Unavailable};

/// The most streams one person may hold open (tabs, phones).
const PER_PERSON: usize = 5;
/// The most streams one process holds open.
const PER_PROCESS: usize = 5_000;
/// Unread counts above this read as "99+".
const UNREAD_CAP: i64 = 100;

/// One new notice: whose, and which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrived {
    pub tenant: Uuid,
    pub user: Uuid,
    pub notice: Uuid,
}

impl Arrived {
    /// Reads a `NOTIFY` payload: `<tenant>:<user>:<notice>`.
    pub fn parse(payload: &str) -> Option<Self> {
        let mut parts = payload.split(':');
        let arrived = Self {
            tenant: parts.next()?.parse().ok()?,
            user: parts.next()?.parse().ok()?,
            notice: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(arrived)
    }
}

/// The process's fan-out of new notices to its open streams.
#[derive(Clone, Debug)]
pub struct Hub {
    sender: broadcast::Sender<Arrived>,
    open: Arc<Mutex<HashMap<Uuid, usize>>>,
    /// Cancelled when the process shuts down: open streams end, so shutdown waits
    /// for no one.
    closing: CancellationToken,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(1024).0,
            open: Arc::default(),
            closing: CancellationToken::new(),
        }
    }
}

impl Hub {
    /// Listens for new notices until `shutdown`, reconnecting when the connection drops.
    pub async fn listen(self, db: Db, shutdown: CancellationToken) {
        let closing = self.closing.clone();
        let _end_streams = closing.drop_guard();
        loop {
            let mut listener = match db.listen("mashang_notices").await {
                Ok(l) => l,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot LISTEN for notices; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    }
                }
            };
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    got = listener.recv() => match got {
                        Ok(n) => {
                            if let Some(a) = Arrived::parse(n.payload()) {
                                // No stream open: nobody to tell.
                                let _ = self.sender.send(a);
                            }
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "the notices listener dropped; reconnecting");
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Takes one of `user`'s stream places; `None` when they or the process hold the most.
    fn take(&self, user: Uuid) -> Option<Place> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = open.values().sum();
        let mine = open.entry(user).or_default();
        if *mine >= PER_PERSON || total >= PER_PROCESS {
            return None;
        }
        *mine += 1;
        Some(Place {
            user,
            open: self.open.clone(),
        })
    }
}

/// A held stream place, given back when the stream ends.
#[derive(Debug)]
struct Place {
    user: Uuid,
    open: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}

/// `GET /api/v1/inbox/stream`.
/// One event of the stream, as server-sent events carry it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct StreamEvent {
    /// `unread` (data `{"unread": n}`) or `notice` (data: the notice as JSON).
    #[schema(example = "unread")]
    event: String,
    /// The event's JSON.
    #[schema(example = "{\"unread\":0}")]
    data: String,
}

#[utoipa::path(get, path = "/api/v1/inbox/stream", tag = "notification", operation_id = "get_api_v1_inbox_stream",
    summary = "通知推送 (Server-sent events: `unread` counts and new `notice`s)",
    responses(
        (status = 200, description = "事件流 (An event stream)", content_type = "text/event-stream", body = StreamEvent),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
pub(crate) async fn stream(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let tenant = principal.require_tenant()?;
    let user = principal
        .user()
        .ok_or_else(|| ApiError::Forbidden("API tokens have no inbox".to_owned()))?;
    let place = state
        .hub
        .take(user.as_uuid())
        .ok_or(ApiError::TooManyRequests {
            retry_after: Some(30),
        })?;
    let receiver = state.hub.sender.subscribe();
    let first = count_event(&state.db, tenant, user).await?;
    let db = state.db.clone();
    let closing = state.hub.closing.clone();
    let events = futures::stream::unfold(
        (Some(first), receiver, db, place),
        move |(first, mut receiver, db, place)| {
            let closing = closing.clone();
            async move {
                if let Some(event) = first {
                    return Some((Ok(event), (None, receiver, db, place)));
                }
                loop {
                    let got = tokio::select! {
                        () = closing.cancelled() => return None,
                        got = receiver.recv() => got,
                    };
                    match got {
                        Ok(a) if a.tenant == tenant.as_uuid() && a.user == user.as_uuid() => {
                            match notice_event(&db, tenant, user, a.notice).await {
                                Ok(Some(event)) => {
                                    return Some((Ok(event), (None, receiver, db, place)));
                                }
                                Ok(None) => {}
                                Err(err) => {
                                    tracing::warn!(error = %err, "reading a notice for a stream");
                                }
                            }
                        }
                        Ok(_) => {}
                        // Fell behind: say the count again rather than lose track.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            if let Ok(event) = count_event(&db, tenant, user).await {
                                return Some((Ok(event), (None, receiver, db, place)));
                            }
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        },
    );
    Ok(Sse::new(events).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    ))
}

async fn count_event(db: &Db, tenant: TenantId, user: UserId) -> Result<Event, ApiError> {
    let mut tx = db.tenant(tenant).await?;
    let n = unread(&mut tx, user, UNREAD_CAP).await?;
    tx.commit().await?;
    Ok(Event::default()
        .event("unread")
        .data(json!({ "unread": n }).to_string()))
}

async fn notice_event(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    id: Uuid,
) -> Result<Option<Event>, ApiError> {
    let mut tx = db.tenant(tenant).await?;
    let notice: Option<Notice> = sqlx::query_as(
        "SELECT id, case_id, kind, title, body, created_at, read_at FROM notification.notices \
         WHERE tenant_id = $1 AND user_id = $2 AND id = $3",
    )
    .bind(tenant.as_uuid())
    .bind(user.as_uuid())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let n = unread(&mut tx, user, UNREAD_CAP).await?;
    tx.commit().await?;
    Ok(notice.map(|notice| {
        Event::default()
            .event("notice")
            .id(notice.id.to_string())
            .data(json!({ "notice": notice, "unread": n }).to_string())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back_and_places_are_limited_per_person() {
        let (t, u, n) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(
            Arrived::parse(&format!("{t}:{u}:{n}")),
            Some(Arrived {
                tenant: t,
                user: u,
                notice: n
            })
        );
        assert_eq!(Arrived::parse("a:b:c"), None);
        assert_eq!(Arrived::parse(&format!("{t}:{u}:{n}:x")), None);
        let hub = Hub::default();
        let held: Vec<_> = (0..PER_PERSON).filter_map(|_| hub.take(u)).collect();
        assert_eq!(held.len(), PER_PERSON);
        assert!(hub.take(u).is_none());
        assert!(hub.take(t).is_some(), "another person still may");
        drop(held);
        assert!(hub.take(u).is_some(), "given back when the streams end");
    }
}
