//! The self-assessment report (自查自评报告): a Word document drafted from a township's
//! figures for a period, or from every township's for the county, with the figures in
//! tables, charts embedded and the next steps left for people to write.

mod county;
pub mod data;
mod document;
pub mod download;
pub mod draft;
mod http;
pub mod source;
mod township;

pub use county::county_docx;
pub use document::PLACEHOLDER;
pub(crate) use http::routes;
pub use township::township_docx;

use crate::charts::ChartError;

/// Errors writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A chart could not be drawn.
    #[error("drawing a chart for the report failed")]
    Chart(#[from] ChartError),
    /// The document could not be packed.
    #[error("packing the report failed")]
    Pack(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[cfg(test)]
mod tests;
