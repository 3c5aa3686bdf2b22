//! What an export writes: a header of column titles, then rows of typed cells. The
//! two formats ([`super::csv`], [`super::xlsx`]) write the same table.

use std::io;

use chrono::NaiveDateTime;

/// One cell of an exported row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    /// Nothing (a time that has not happened, an answer not given).
    Empty,
    /// Text, written as given (the CSV guards it against formula injection).
    Text(&'a str),
    /// A whole number.
    Int(i64),
    /// A local date and time (the township's clock).
    Time(NaiveDateTime),
}

impl<'a> Cell<'a> {
    /// Text, or [`Cell::Empty`] when absent.
    pub fn text(value: Option<&'a str>) -> Self {
        value.map_or(Self::Empty, Self::Text)
    }

    /// A time, or [`Cell::Empty`] when absent.
    pub fn time(value: Option<NaiveDateTime>) -> Self {
        value.map_or(Self::Empty, Self::Time)
    }
}

/// How times are written as text (CSV), to the minute like the console's pages.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M";

/// A writer of one table to a byte stream.
pub trait TableWriter: Send {
    /// Writes the column titles; called once, first.
    fn header(&mut self, titles: &[&str]) -> io::Result<()>;
    /// Writes one row, with as many cells as there are titles.
    fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()>;
    /// Completes the file and flushes everything to the output.
    fn finish(self: Box<Self>) -> io::Result<()>;
}
