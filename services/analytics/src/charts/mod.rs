//! Charts drawn on the server: bar and line charts as SVG for pages (no script, nothing
//! fetched from elsewhere), each with its data as an HTML table for screen readers and
//! for anyone who wants the numbers, and as PNG for documents.

mod png;
mod svg;
mod table;

pub use png::png;
pub use svg::{colour_name, svg};
pub use table::table_html;

/// How a chart draws its series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    /// Grouped vertical bars, one group per category.
    Bar,
    /// One line per series across the categories (for trends over time).
    Line,
}

/// One named row of values, one value per category; `None` where there is nothing to
/// show (a rate with no denominator), drawn as a gap and written as "—".
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The series' name, shown in the legend and as a table column.
    pub name: String,
    /// One value per category, in the chart's category order.
    pub values: Vec<Option<f64>>,
}

/// What a chart shows: categories along the bottom, one or more series over them.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// The chart's title (the table's caption).
    pub title: String,
    /// Bar or line.
    pub kind: ChartKind,
    /// The name of the category column in the table (村/社区, 周, …).
    pub category_label: String,
    /// The categories, left to right.
    pub categories: Vec<String>,
    /// The series, each with one value per category.
    pub series: Vec<Series>,
    /// The unit of the values (件, %, 分钟), shown on the axis and in the table.
    pub unit: String,
}

impl Chart {
    /// A chart with no series yet.
    pub fn new(
        kind: ChartKind,
        title: impl Into<String>,
        category_label: impl Into<String>,
        categories: Vec<String>,
        unit: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            kind,
            category_label: category_label.into(),
            categories,
            series: Vec::new(),
            unit: unit.into(),
        }
    }

    /// The chart with one more series (values beyond the categories are ignored, missing
    /// ones are gaps).
    pub fn with_series(mut self, name: impl Into<String>, values: Vec<Option<f64>>) -> Self {
        self.series.push(Series {
            name: name.into(),
            values,
        });
        self
    }

    /// The largest value drawn, for the axis (at least 1, so an all-zero chart still
    /// has an axis).
    fn max_value(&self) -> f64 {
        self.series
            .iter()
            .flat_map(|s| s.values.iter().take(self.categories.len()))
            .filter_map(|v| *v)
            .filter(|v| v.is_finite())
            .fold(1.0_f64, f64::max)
    }

    /// The value of `series` at category `i`, if there is one worth drawing.
    fn value(&self, series: usize, i: usize) -> Option<f64> {
        self.series
            .get(series)
            .and_then(|s| s.values.get(i).copied().flatten())
            .filter(|v| v.is_finite())
    }
}

/// A value as the table and the axis write it: whole numbers without decimals, others
/// with one.
pub fn format_value(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Errors drawing a chart.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The drawing library refused.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// The SVG could not be read back for rasterising.
    #[error("reading the chart's SVG failed")]
    Parse(#[from] resvg::usvg::Error),
    /// The PNG could not be encoded.
    #[error("encoding the chart's PNG failed: {0}")]
    Encode(String),
}

#[cfg(test)]
pub(crate) fn sample() -> Chart {
    Chart::new(
        ChartKind::Bar,
        "各村扫码与反映",
        "村（社区）",
        vec!["东村".into(), "西村".into(), "南村<&>".into()],
        "件",
    )
    .with_series("扫码", vec![Some(12.0), Some(0.0), Some(7.0)])
    .with_series("反映", vec![Some(3.0), None, Some(2.5)])
}
