//! HTTP plumbing shared by every service: RFC 9457 problem+json errors, extractors
//! that turn bad input into those errors, the common tower layers (request ids,
//! tracing by matched route, metrics, panics), health and readiness, graceful serving.

mod client_ip;
mod extract;
mod health;
mod layers;
pub mod openapi;
mod operator;
mod problem;
mod serve;

pub use client_ip::{BadProxyRange, ClientIp, TrustedProxies};
pub use extract::{ApiJson, ApiJsonLater, ApiQuery};
pub use health::{Probe, Readiness, health_openapi, health_router};
pub use layers::{EdgeConfig, RequestTimeouts, with_common_layers};
pub use operator::{MIN_OPERATOR_TOKEN_CHARS, Operator, OperatorToken, check_operator_token};
pub use problem::{ApiError, FieldError, on_constraint};
pub use serve::{metrics_router, serve, shutdown_on_signal};
