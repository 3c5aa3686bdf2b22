//! Writing the layout: the rows of both tables as CSV (UTF-8 with BOM, so Excel opens
//! it right) or as an XLSX workbook with a sheet per table.

use mashang_domain::grid::NodeKind;
use mashang_domain::role::Role;
use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, Workbook, Worksheet, XlsxError,
};

use super::ImportError;
use super::ImportFormat;
use super::layout::{CSV_COLUMNS, Column, Table, yes_no};

/// One row of the `网格` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRecord {
    /// 编码.
    pub code: String,
    /// 名称.
    pub name: String,
    /// 类型.
    pub kind: NodeKind,
    /// 上级编码; `None` for the township root.
    pub parent: Option<String>,
    /// 启用.
    pub active: bool,
    /// 排序.
    pub position: i32,
}

/// One row of the `人员` table: a person and one role (or none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRecord {
    /// 姓名.
    pub name: String,
    /// 手机号 (11 digits).
    pub phone: String,
    /// 角色 and 所在节点编码; `None` lists the person without a role.
    pub role: Option<(Role, String)>,
    /// 登录名.
    pub username: Option<String>,
    /// 启用.
    pub active: bool,
}

impl NodeRecord {
    fn cell(&self, column: Column) -> String {
        match column {
            Column::Table => Table::Nodes.label().to_owned(),
            Column::Code => self.code.clone(),
            Column::Name => self.name.clone(),
            Column::Kind => self.kind.name_zh().to_owned(),
            Column::Parent => self.parent.clone().unwrap_or_default(),
            Column::Active => yes_no(self.active).to_owned(),
            Column::Position => self.position.to_string(),
            _ => String::new(),
        }
    }
}

impl PersonRecord {
    fn cell(&self, column: Column) -> String {
        match column {
            Column::Table => Table::People.label().to_owned(),
            Column::PersonName => self.name.clone(),
            Column::Phone => self.phone.clone(),
            Column::Role => self
                .role
                .as_ref()
                .map(|r| r.0.name_zh().to_owned())
                .unwrap_or_default(),
            Column::Node => self.role.as_ref().map(|r| r.1.clone()).unwrap_or_default(),
            Column::Username => self.username.clone().unwrap_or_default(),
            Column::Active => yes_no(self.active).to_owned(),
            _ => String::new(),
        }
    }
}

/// Writes both tables in `format`, exactly in the layout [`super::parse`] reads.
pub fn write_file(
    format: ImportFormat,
    nodes: &[NodeRecord],
    people: &[PersonRecord],
) -> Result<Vec<u8>, ImportError> {
    write_with_notes(format, nodes, people, &[])
}

/// Writes both tables, with instructions: a `说明` sheet, or CSV comment rows (a `表`
/// cell starting with `#`) under the header.
pub(crate) fn write_with_notes(
    format: ImportFormat,
    nodes: &[NodeRecord],
    people: &[PersonRecord],
    notes: &[&str],
) -> Result<Vec<u8>, ImportError> {
    match format {
        ImportFormat::Csv => Ok(csv(nodes, people, notes)),
        ImportFormat::Xlsx => Ok(xlsx(nodes, people, notes)?),
    }
}

fn csv(nodes: &[NodeRecord], people: &[PersonRecord], notes: &[&str]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut writer = ::csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(&mut out);
        let mut record = |cells: Vec<String>| {
            // Writing to a Vec cannot fail.
            writer.write_record(&cells).ok();
        };
        record(CSV_COLUMNS.iter().map(|c| c.label().to_owned()).collect());
        for note in notes {
            record(vec![format!("# {note}")]);
        }
        for node in nodes {
            record(CSV_COLUMNS.iter().map(|&c| node.cell(c)).collect());
        }
        for person in people {
            record(CSV_COLUMNS.iter().map(|&c| person.cell(c)).collect());
        }
    }
    out
}

/// Columns typed as text, so Excel keeps a code like 001 and a phone number as typed.
fn is_text(column: Column) -> bool {
    matches!(
        column,
        Column::Code | Column::Parent | Column::Phone | Column::Node | Column::Username
    )
}

fn width(column: Column) -> f64 {
    match column {
        Column::Name | Column::Node | Column::Phone => 18.0,
        Column::Code | Column::Parent | Column::Username => 14.0,
        _ => 10.0,
    }
}

/// A drop-down list of the accepted words; `Warning` still lets a clerk type an
/// English code.
fn choices(column: Column) -> Result<Option<DataValidation>, XlsxError> {
    let words: Vec<&str> = match column {
        Column::Kind => NodeKind::ALL.iter().map(|k| k.name_zh()).collect(),
        Column::Role => Role::ALL
            .iter()
            .filter(|r| !r.is_county())
            .map(|r| r.name_zh())
            .collect(),
        Column::Active => vec!["是", "否"],
        _ => return Ok(None),
    };
    Ok(Some(
        DataValidation::new()
            .allow_list_strings(&words)?
            .set_error_style(DataValidationErrorStyle::Warning),
    ))
}

fn sheet<T>(
    worksheet: &mut Worksheet,
    table: Table,
    rows: &[T],
    cell: impl Fn(&T, Column) -> String,
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold().set_background_color(0xDDEBF7);
    let text = Format::new().set_num_format("@");
    worksheet.set_name(table.label())?;
    worksheet.set_freeze_panes(1, 0)?;
    for (i, &column) in table.columns().iter().enumerate() {
        let col = u16::try_from(i).unwrap_or(u16::MAX);
        worksheet.set_column_width(col, width(column))?;
        if is_text(column) {
            worksheet.set_column_format(col, &text)?;
        }
        if let Some(list) = choices(column)? {
            worksheet.add_data_validation(1, col, 10_000, col, &list)?;
        }
        worksheet.write_string_with_format(0, col, column.label(), &bold)?;
        for (r, record) in rows.iter().enumerate() {
            let row = u32::try_from(r + 1).unwrap_or(u32::MAX);
            let value = cell(record, column);
            if value.is_empty() {
                continue;
            }
            match column {
                Column::Position => {
                    worksheet.write_number(row, col, value.parse::<f64>().unwrap_or(0.0))?;
                }
                c if is_text(c) => {
                    worksheet.write_string_with_format(row, col, value, &text)?;
                }
                _ => {
                    worksheet.write_string(row, col, value)?;
                }
            }
        }
    }
    Ok(())
}

fn xlsx(
    nodes: &[NodeRecord],
    people: &[PersonRecord],
    notes: &[&str],
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    sheet(
        workbook.add_worksheet(),
        Table::Nodes,
        nodes,
        NodeRecord::cell,
    )?;
    sheet(
        workbook.add_worksheet(),
        Table::People,
        people,
        PersonRecord::cell,
    )?;
    if !notes.is_empty() {
        let worksheet = workbook.add_worksheet();
        worksheet.set_name("说明")?;
        let bold = Format::new().set_bold();
        for (i, note) in notes.iter().enumerate() {
            let row = u32::try_from(i).unwrap_or(u32::MAX);
            if i == 0 {
                worksheet.write_string_with_format(row, 0, *note, &bold)?;
            } else {
                worksheet.write_string(row, 0, *note)?;
            }
        }
    }
    workbook.save_to_buffer()
}
