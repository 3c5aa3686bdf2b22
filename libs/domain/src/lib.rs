//! Mashang's domain: identifiers, validated value types, and the event catalogue.
//!
//! Pure: no I/O, no async, no database. Values here can only be constructed valid,
//! so code that holds one does not need to check it again.

pub mod calendar;
pub mod case;
pub mod email;
pub mod events;
pub mod grid;
pub mod ids;
pub mod phone;
pub mod report;
pub mod role;
pub mod sla;
pub mod tenant;
pub mod tracking;
pub mod username;

pub use email::EmailAddress;
pub use ids::{
    AttachmentId, CaseId, EventId, GridNodeId, NoticeId, QrCodeId, ReportId, TenantId, UserId,
};
pub use phone::PhoneNumber;
pub use tenant::TenantCode;
pub use tracking::TrackingNumber;
pub use username::Username;
