//! A chart's data as an HTML table: what a screen reader reads instead of the picture.

use askama::Template;

use super::{Chart, format_value};

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<table class="chart-data"><caption>{{ caption }}</caption>
<thead><tr><th scope="col">{{ category_label }}</th>{% for h in headers %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in rows %}<tr><th scope="row">{{ row.0 }}</th>{% for v in row.1 %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>"#
)]
struct DataTable<'a> {
    caption: &'a str,
    category_label: &'a str,
    headers: Vec<String>,
    rows: Vec<(&'a str, Vec<String>)>,
}

/// The chart's data as a `<table>` (caption, a column per series with the unit, a row
/// per category), escaped; missing values are written "—".
pub fn table_html(chart: &Chart) -> String {
    let headers = chart
        .series
        .iter()
        .map(|s| {
            if chart.unit.is_empty() {
                s.name.clone()
            } else {
                format!("{}（{}）", s.name, chart.unit)
            }
        })
        .collect();
    let rows = chart
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let cells = (0..chart.series.len())
                .map(|s| {
                    chart
                        .value(s, i)
                        .map_or_else(|| "—".to_owned(), format_value)
                })
                .collect();
            (c.as_str(), cells)
        })
        .collect();
    let table = DataTable {
        caption: &chart.title,
        category_label: &chart.category_label,
        headers,
        rows,
    };
    // Rendering a template with only strings cannot fail.
    table.render().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    #[test]
    fn the_table_has_a_row_per_category_and_a_column_per_series() {
        let html = table_html(&sample());
        assert!(html.contains("<caption>各村扫码与反映</caption>"));
        assert!(
            html.contains("<th scope=\"col\">扫码（件）</th><th scope=\"col\">反映（件）</th>")
        );
        assert!(html.contains("<th scope=\"row\">东村</th><td>12</td><td>3</td>"));
        assert!(html.contains("<th scope=\"row\">西村</th><td>0</td><td>—</td>"));
        assert!(html.contains("南村&#60;&#38;&#62;") || html.contains("南村&lt;&amp;&gt;"));
        assert!(html.contains("<td>2.5</td>"));
    }
}
