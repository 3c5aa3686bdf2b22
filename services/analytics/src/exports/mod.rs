//! Case exports: a township's cases (`GET /api/v1/exports/cases.{csv,xlsx}`) and the
//! county's across townships (`GET /api/v1/county/exports/cases.{csv,xlsx}`), read
//! from analytics' own case facts and streamed with bounded memory.

pub mod csv;
pub mod sink;
pub mod table;
pub mod xlsx;
