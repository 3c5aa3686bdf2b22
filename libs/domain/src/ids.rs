//! Typed identifiers: one newtype per entity, so a `CaseId` can never be passed where a
//! `TenantId` is expected. All are UUIDv7 (time-ordered) when generated here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) identifier.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an identifier read from storage or a trusted message.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The underlying UUID, for binding into queries.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

id_type!(
    /// A township (tenant).
    TenantId
);
id_type!(
    /// A node of a tenant's grid tree (township, village, grid, …).
    GridNodeId
);
id_type!(
    /// A staff user.
    UserId
);
id_type!(
    /// A citizen's report, as intake received it.
    ReportId
);
id_type!(
    /// A case: the handling of a report, owned by routing.
    CaseId
);
id_type!(
    /// A photo or voice recording attached to a report.
    AttachmentId
);
id_type!(
    /// A QR code posted in a grid.
    QrCodeId
);
id_type!(
    /// An event on the bus; also its NATS message id for de-duplication.
    EventId
);
id_type!(
    /// An in-app notice for a staff user.
    NoticeId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_time_ordered_v7() {
        let a = CaseId::new();
        let b = CaseId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b, "UUIDv7 ids generated later must sort later");
    }

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = TenantId::new();
        let parsed: TenantId = id.to_string().parse().expect("display output parses");
        assert_eq!(parsed, id);
        let json = serde_json::to_string(&id).expect("serialises");
        assert_eq!(json, format!("\"{id}\""));
        assert!("not-a-uuid".parse::<TenantId>().is_err());
    }
}
