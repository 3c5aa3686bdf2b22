//! Case exports: a township's cases (`GET /api/v1/exports/cases.{csv,xlsx}`) and the
//! county's across townships (`GET /api/v1/county/exports/cases.{csv,xlsx}`), read
//! from analytics' own case facts and streamed with bounded memory.

mod audit;
pub mod csv;
pub mod query;
mod routes;
pub mod rows;
pub mod sink;
pub mod stream;
pub mod table;
pub mod xlsx;

pub(crate) use routes::routes;
