//! The services that own an outbox and an inbox, and the SQL for each schema.
//!
//! Schema names cannot be bound as query parameters, so each statement exists once
//! per schema as a constant string, built by a macro from one template.

use std::fmt;

/// A service with its own schema, outbox and inbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// Citizen intake.
    Intake,
    /// Cases, assignment, deadlines, and the directory.
    Routing,
    /// Messages to staff and citizens.
    Notification,
    /// Figures and dashboards.
    Analytics,
}

impl Service {
    /// All four services.
    pub const ALL: [Service; 4] = [
        Self::Intake,
        Self::Routing,
        Self::Notification,
        Self::Analytics,
    ];

    /// The service's name, which is also its schema and its consumer name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            Self::Routing => "routing",
            Self::Notification => "notification",
            Self::Analytics => "analytics",
        }
    }

    /// Parses a service name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == raw)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One SQL statement per schema: `per_schema!(service, "SELECT … FROM ", ".outbox …")`,
/// or with the schema named twice: `per_schema!(service, "… ", ".t … (SELECT … FROM ", ".t …)")`.
macro_rules! per_schema {
    ($service:expr, $before:literal, $after:literal) => {
        match $service {
            $crate::service::Service::Intake => concat!($before, "intake", $after),
            $crate::service::Service::Routing => concat!($before, "routing", $after),
            $crate::service::Service::Notification => concat!($before, "notification", $after),
            $crate::service::Service::Analytics => concat!($before, "analytics", $after),
        }
    };
    ($service:expr, $before:literal, $between:literal, $after:literal) => {
        match $service {
            $crate::service::Service::Intake => {
                concat!($before, "intake", $between, "intake", $after)
            }
            $crate::service::Service::Routing => {
                concat!($before, "routing", $between, "routing", $after)
            }
            $crate::service::Service::Notification => {
                concat!($before, "notification", $between, "notification", $after)
            }
            $crate::service::Service::Analytics => {
                concat!($before, "analytics", $between, "analytics", $after)
            }
        }
    };
}
pub(crate) use per_schema;
