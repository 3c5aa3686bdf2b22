//! The event catalogue: the envelope every service exchanges, the event types, and
//! their payloads. Adding a payload field is compatible; changing one is a new version.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ids::{AttachmentId, CaseId, EventId, GridNodeId, QrCodeId, ReportId, TenantId, UserId};
use crate::report::Channel;
use crate::sla::EscalationLevel;

/// The NATS subject prefix under which all events are published.
pub const SUBJECT_ROOT: &str = "mashang";

/// The name of a fact that happened, in the past tense.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// A citizen's report was received.
    #[serde(rename = "report.submitted")]
    ReportSubmitted,
    /// A citizen rated the handling of a report.
    #[serde(rename = "report.rated")]
    ReportRated,
    /// A case was opened for a report.
    #[serde(rename = "case.created")]
    CaseCreated,
    /// A case was given to a handler.
    #[serde(rename = "case.assigned")]
    CaseAssigned,
    /// The handler contacted the citizen (first response).
    #[serde(rename = "case.acknowledged")]
    CaseAcknowledged,
    /// A reminder was sent before a deadline.
    #[serde(rename = "case.reminded")]
    CaseReminded,
    /// A case moved up the grid tree.
    #[serde(rename = "case.escalated")]
    CaseEscalated,
    /// A case was given to another handler.
    #[serde(rename = "case.transferred")]
    CaseTransferred,
    /// A handler sent a mis-routed case back to the dispatcher.
    #[serde(rename = "case.returned")]
    CaseReturned,
    /// Measures were recorded.
    #[serde(rename = "case.resolved")]
    CaseResolved,
    /// The outcome was checked with the citizen.
    #[serde(rename = "case.followed_up")]
    CaseFollowedUp,
    /// A case was reopened.
    #[serde(rename = "case.reopened")]
    CaseReopened,
    /// A case was judged invalid (spam, duplicate, outside jurisdiction).
    #[serde(rename = "case.invalidated")]
    CaseInvalidated,
    /// A case was closed.
    #[serde(rename = "case.closed")]
    CaseClosed,
    /// Something a township's administrators must know (a calendar year not published).
    #[serde(rename = "tenant.alerted")]
    TenantAlerted,
    /// Someone asked for a case to be judged invalid; a second person decides.
    #[serde(rename = "case.invalidation_requested")]
    CaseInvalidationRequested,
    /// A pending invalidation request was turned down (or withdrawn): the case is valid.
    #[serde(rename = "case.invalidation_rejected")]
    CaseInvalidationRejected,
    /// A case began waiting on the citizen: its clocks stopped.
    #[serde(rename = "case.paused")]
    CasePaused,
    /// A case stopped waiting on the citizen: its clocks run again, deadlines moved.
    #[serde(rename = "case.resumed")]
    CaseResumed,
    /// An extension of a case's resolution deadline was approved.
    #[serde(rename = "case.extended")]
    CaseExtended,
    /// A citizen opened the landing page of a QR code.
    #[serde(rename = "qr.scanned")]
    QrScanned,
}

impl EventType {
    /// Every event type in the catalogue.
    pub const ALL: [EventType; 21] = [
        Self::ReportSubmitted,
        Self::ReportRated,
        Self::CaseCreated,
        Self::CaseAssigned,
        Self::CaseAcknowledged,
        Self::CaseReminded,
        Self::CaseEscalated,
        Self::CaseTransferred,
        Self::CaseReturned,
        Self::CaseResolved,
        Self::CaseFollowedUp,
        Self::CaseReopened,
        Self::CaseInvalidated,
        Self::CaseClosed,
        Self::TenantAlerted,
        Self::CaseInvalidationRequested,
        Self::CaseInvalidationRejected,
        Self::CasePaused,
        Self::CaseResumed,
        Self::CaseExtended,
        Self::QrScanned,
    ];

    /// The dotted name (`case.assigned`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReportSubmitted => "report.submitted",
            Self::ReportRated => "report.rated",
            Self::CaseCreated => "case.created",
            Self::CaseAssigned => "case.assigned",
            Self::CaseAcknowledged => "case.acknowledged",
            Self::CaseReminded => "case.reminded",
            Self::CaseEscalated => "case.escalated",
            Self::CaseTransferred => "case.transferred",
            Self::CaseReturned => "case.returned",
            Self::CaseResolved => "case.resolved",
            Self::CaseFollowedUp => "case.followed_up",
            Self::CaseReopened => "case.reopened",
            Self::CaseInvalidated => "case.invalidated",
            Self::CaseClosed => "case.closed",
            Self::TenantAlerted => "tenant.alerted",
            Self::CaseInvalidationRequested => "case.invalidation_requested",
            Self::CaseInvalidationRejected => "case.invalidation_rejected",
            Self::CasePaused => "case.paused",
            Self::CaseResumed => "case.resumed",
            Self::CaseExtended => "case.extended",
            Self::QrScanned => "qr.scanned",
        }
    }

    /// Parses a dotted name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// The subject filter that matches this type in every tenant (`mashang.*.case.assigned`).
    pub fn subject_filter(self) -> String {
        format!("{SUBJECT_ROOT}.*.{}", self.as_str())
    }
}

/// A payload type of the catalogue, tied to its event type and schema version.
pub trait Event: Serialize + DeserializeOwned {
    /// The event type this payload belongs to.
    const TYPE: EventType;
    /// The payload's schema version.
    const VERSION: u32 = 1;
}

/// The envelope of every event: `{id, type, version, tenant_id, occurred_at, traceparent, payload}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Unique per event; the bus de-duplicates on it and consumers record it.
    pub id: EventId,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The payload's schema version.
    pub version: u32,
    /// The township the fact belongs to.
    pub tenant_id: TenantId,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// W3C trace context of the operation that caused it, so one trace spans services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// The event's facts, as the catalogue type for `event_type` and `version`.
    pub payload: serde_json::Value,
}

/// Why an envelope's payload could not be read as the requested type.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The envelope holds another event type.
    #[error("envelope holds {found:?}, not {expected:?}")]
    WrongType {
        /// The type asked for.
        expected: EventType,
        /// The type the envelope holds.
        found: EventType,
    },
    /// The envelope's version is newer than this build understands.
    #[error("{event_type:?} version {found} is newer than the supported version {supported}")]
    UnsupportedVersion {
        /// The event type.
        event_type: EventType,
        /// The version found.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// The payload does not match the type's schema.
    #[error("payload does not match the schema: {0}")]
    Payload(#[from] serde_json::Error),
}

impl Envelope {
    /// Wraps a payload that serves several event types (see [`CaseUpdate`]).
    pub fn of_type<P: Serialize>(
        tenant_id: TenantId,
        occurred_at: DateTime<Utc>,
        event_type: EventType,
        payload: &P,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            id: EventId::new(),
            event_type,
            version: 1,
            tenant_id,
            occurred_at,
            traceparent: None,
            payload: serde_json::to_value(payload)?,
        })
    }

    /// Wraps a payload in a new envelope with a fresh id.
    pub fn new<E: Event>(
        tenant_id: TenantId,
        occurred_at: DateTime<Utc>,
        payload: &E,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            id: EventId::new(),
            event_type: E::TYPE,
            version: E::VERSION,
            tenant_id,
            occurred_at,
            traceparent: None,
            payload: serde_json::to_value(payload)?,
        })
    }

    /// Sets the trace context carried with the event.
    pub fn with_traceparent(mut self, traceparent: Option<String>) -> Self {
        self.traceparent = traceparent;
        self
    }

    /// Reads the payload as the catalogue type it must be.
    pub fn decode<E: Event>(&self) -> Result<E, DecodeError> {
        if self.event_type != E::TYPE {
            return Err(DecodeError::WrongType {
                expected: E::TYPE,
                found: self.event_type,
            });
        }
        if self.version > E::VERSION {
            return Err(DecodeError::UnsupportedVersion {
                event_type: E::TYPE,
                found: self.version,
                supported: E::VERSION,
            });
        }
        Ok(E::deserialize(&self.payload)?)
    }

    /// The NATS subject: `mashang.<tenant_id>.<type>`.
    pub fn subject(&self) -> String {
        format!(
            "{SUBJECT_ROOT}.{}.{}",
            self.tenant_id,
            self.event_type.as_str()
        )
    }
}

/// A point on the map, as the citizen's browser reported it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude in degrees, −90 to 90.
    pub lat: f64,
    /// Longitude in degrees, −180 to 180.
    pub lng: f64,
}

/// The kind of an attachment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A photo.
    Photo,
    /// A voice recording.
    Voice,
}

impl AttachmentKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Photo => "photo",
            Self::Voice => "voice",
        }
    }
}

/// An attachment as other services learn of it: where it is stored and what it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// The attachment's id.
    pub id: AttachmentId,
    /// Photo or voice.
    pub kind: AttachmentKind,
    /// The sniffed content type (`image/jpeg`).
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// The blob-store key (begins with the tenant id).
    pub key: String,
}

/// `report.submitted`: a citizen's report was received by intake.
///
/// Version 2 carries no contact details (name, phone, masked or sealed): a consumer
/// that needs them reads them where intake keeps them
/// (`docs/decisions/0015-no-contact-details-on-the-bus.md`). Version 1 envelopes
/// still decode; their contact fields are ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportSubmitted {
    /// The report.
    pub report_id: ReportId,
    /// What the citizen quotes.
    pub tracking_number: String,
    /// The QR code that was scanned, if the report came through one.
    pub qr_code_id: Option<QrCodeId>,
    /// The grid the report belongs to.
    pub grid_node_id: GridNodeId,
    /// The category code chosen by the citizen.
    pub category: String,
    /// What the citizen wrote (may be empty when a voice note carries it).
    pub description: String,
    /// Flags raised at intake (`burst`: unusually many reports from one code today).
    #[serde(default)]
    pub flags: Vec<String>,
    /// Where the citizen was, if they allowed it.
    pub location: Option<GeoPoint>,
    /// Photos and voice notes.
    pub attachments: Vec<AttachmentRef>,
    /// How the report reached us.
    pub channel: Channel,
    /// When intake accepted it.
    pub submitted_at: DateTime<Utc>,
}

impl Event for ReportSubmitted {
    const TYPE: EventType = EventType::ReportSubmitted;
    const VERSION: u32 = 2;
}

/// The citizen's satisfaction with the handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    /// 满意.
    Satisfied,
    /// 基本满意.
    BasicallySatisfied,
    /// 不满意.
    Unsatisfied,
}

impl Satisfaction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Satisfied => "satisfied",
            Self::BasicallySatisfied => "basically_satisfied",
            Self::Unsatisfied => "unsatisfied",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Satisfied, Self::BasicallySatisfied, Self::Unsatisfied]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Satisfied => "满意",
            Self::BasicallySatisfied => "基本满意",
            Self::Unsatisfied => "不满意",
        }
    }
}

/// `report.rated`: the citizen answered the two follow-up questions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportRated {
    /// The report.
    pub report_id: ReportId,
    /// Its tracking number.
    pub tracking_number: String,
    /// The case, if intake knows it.
    pub case_id: Option<CaseId>,
    /// Was the problem resolved?
    pub resolved: bool,
    /// How satisfied.
    pub satisfaction: Satisfaction,
    /// An optional comment.
    pub comment: Option<String>,
    /// When.
    pub rated_at: DateTime<Utc>,
}

impl Event for ReportRated {
    const TYPE: EventType = EventType::ReportRated;
}

/// The payload of every case event after creation (`case.acknowledged`,
/// `case.reminded`, `case.escalated`, `case.transferred`, `case.returned`,
/// `case.resolved`, `case.followed_up`, `case.reopened`, `case.invalidated`,
/// `case.closed`): the case's facts after the change, what was done, and who must know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseUpdate {
    /// The case.
    pub case_id: CaseId,
    /// Its version after this change.
    pub case_version: i64,
    /// The report it handles.
    pub report_id: ReportId,
    /// The report's tracking number.
    pub tracking_number: String,
    /// The case's state after the change.
    pub state: String,
    /// The action (`acknowledge`, `reminder`, `breach`…).
    pub action: String,
    /// Who acted (none for the system or the citizen).
    pub actor_id: Option<UserId>,
    /// The handler after the change.
    pub assignee_id: Option<UserId>,
    /// The action's details.
    #[serde(default)]
    pub details: serde_json::Value,
    /// The people to tell (the handler, supervisors), decided by routing.
    #[serde(default)]
    pub notify: Vec<UserId>,
    /// The ladder level of the handler's role where they hold it (absent without a
    /// handler, and in events from before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler_level: Option<EscalationLevel>,
    /// The first-response deadline in force after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_due: Option<DateTime<Utc>>,
    /// The resolution deadline in force after the change (none once it stopped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_due: Option<DateTime<Utc>>,
}

/// `tenant.alerted`: something the township's administrators must act on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantAlert {
    /// What kind (`calendar_unpublished`).
    pub kind: String,
    /// What about (the year).
    pub key: String,
    /// The message, Chinese then English.
    pub message: String,
    /// Who to tell.
    pub notify: Vec<UserId>,
}

impl Event for TenantAlert {
    const TYPE: EventType = EventType::TenantAlerted;
}

/// `case.created`: routing opened a case for a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseCreated {
    /// The case.
    pub case_id: CaseId,
    /// Its version after this change; consumers ignore anything older than they hold.
    pub case_version: i64,
    /// The report it handles.
    pub report_id: ReportId,
    /// The report's tracking number.
    pub tracking_number: String,
    /// The grid the case belongs to.
    pub grid_node_id: GridNodeId,
    /// The category code.
    pub category: String,
    /// When the first response (the call back) is due.
    pub first_response_due: DateTime<Utc>,
    /// `normal` or `urgent` (absent in events from before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// When the resolution is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_due: Option<DateTime<Utc>>,
}

impl Event for CaseCreated {
    const TYPE: EventType = EventType::CaseCreated;
}

/// `case.assigned`: a case was given to a handler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseAssigned {
    /// The case.
    pub case_id: CaseId,
    /// Its version after this change.
    pub case_version: i64,
    /// The report it handles.
    pub report_id: ReportId,
    /// The report's tracking number.
    pub tracking_number: String,
    /// Who handles it now.
    pub assignee_id: UserId,
    /// The node at which the assignee holds the role that made them eligible.
    pub assigned_node_id: GridNodeId,
    /// True when nobody was eligible at the case's own grid and a higher level took it.
    pub vacancy: bool,
    /// When the first response is due.
    pub first_response_due: DateTime<Utc>,
    /// The ladder level of the role the assignee holds at `assigned_node_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler_level: Option<EscalationLevel>,
    /// When the resolution is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_due: Option<DateTime<Utc>>,
}

/// `qr.scanned`: a citizen opened the landing page of a QR code (one event per
/// opening; analytics counts them per code and local day).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QrScanned {
    /// The code.
    pub qr_code_id: QrCodeId,
    /// The grid node the code is posted for.
    pub grid_node_id: GridNodeId,
    /// When.
    pub scanned_at: DateTime<Utc>,
}

impl Event for QrScanned {
    const TYPE: EventType = EventType::QrScanned;
}

impl Event for CaseAssigned {
    const TYPE: EventType = EventType::CaseAssigned;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assigned() -> CaseAssigned {
        CaseAssigned {
            case_id: CaseId::new(),
            case_version: 2,
            report_id: ReportId::new(),
            tracking_number: "CT-20261126-0001".into(),
            assignee_id: UserId::new(),
            assigned_node_id: GridNodeId::new(),
            vacancy: false,
            first_response_due: Utc::now(),
            handler_level: None,
            resolution_due: None,
        }
    }

    #[test]
    fn type_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).expect("serialises");
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
    }

    #[test]
    fn envelope_has_the_documented_shape_and_subject() {
        let tenant = TenantId::new();
        let env = Envelope::new(tenant, Utc::now(), &assigned())
            .expect("serialises")
            .with_traceparent(Some(
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
            ));
        let json = serde_json::to_value(&env).expect("serialises");
        for key in [
            "id",
            "type",
            "version",
            "tenant_id",
            "occurred_at",
            "traceparent",
            "payload",
        ] {
            assert!(json.get(key).is_some(), "envelope lacks {key}");
        }
        assert_eq!(json["type"], "case.assigned");
        assert_eq!(env.subject(), format!("mashang.{tenant}.case.assigned"));
        assert_eq!(
            EventType::CaseAssigned.subject_filter(),
            "mashang.*.case.assigned"
        );
    }

    #[test]
    fn decode_checks_type_and_version() {
        let payload = assigned();
        let env = Envelope::new(TenantId::new(), Utc::now(), &payload).expect("serialises");
        assert_eq!(env.decode::<CaseAssigned>().expect("decodes"), payload);
        assert!(matches!(
            env.decode::<CaseCreated>(),
            Err(DecodeError::WrongType { .. })
        ));
        let mut newer = env.clone();
        newer.version = 2;
        assert!(matches!(
            newer.decode::<CaseAssigned>(),
            Err(DecodeError::UnsupportedVersion { .. })
        ));
        let mut unknown_field = env;
        unknown_field.payload["added_later"] = serde_json::json!(true);
        assert!(
            unknown_field.decode::<CaseAssigned>().is_ok(),
            "an added field must stay compatible"
        );
    }

    #[test]
    fn a_submitted_report_carries_no_contact_details_and_old_ones_still_decode() {
        let report = ReportSubmitted {
            report_id: ReportId::new(),
            tracking_number: "CT-20261126-0001".into(),
            qr_code_id: None,
            grid_node_id: GridNodeId::new(),
            category: "roads".into(),
            description: "路灯坏了".into(),
            flags: Vec::new(),
            location: None,
            attachments: Vec::new(),
            channel: crate::report::Channel::Qr,
            submitted_at: Utc::now(),
        };
        let env = Envelope::new(TenantId::new(), Utc::now(), &report).expect("serialises");
        assert_eq!(env.version, 2, "fields were removed: a new version");
        let text = serde_json::to_string(&env).expect("serialises");
        assert!(!text.contains("contact"), "{text}");
        let mut v1 = env.clone();
        v1.version = 1;
        v1.payload["contact_name"] = serde_json::json!("王大妈");
        v1.payload["contact_phone_masked"] = serde_json::json!("138****1234");
        v1.payload["contact_phone_sealed"] = serde_json::json!("c2VhbGVk");
        assert_eq!(v1.decode::<ReportSubmitted>().expect("decodes"), report);
    }
}
