//! Admin output as Unix tools write it: tables whose columns line up, and a standard output that
//! the reader closed (`strongbox account list | head -1`) ends the command quietly instead of
//! panicking, as `println!` does.

use std::fmt;
use std::io::{self, Write};

/// Why an admin command stopped early.
#[derive(Debug, PartialEq, Eq)]
pub enum CliError {
    /// A failure to report on standard error, with a non-zero exit.
    Failed(String),
    /// Whoever read standard output has gone: end quietly, as `ls | head` does.
    OutputClosed,
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Failed(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        CliError::Failed(message.to_owned())
    }
}

impl From<io::Error> for CliError {
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::BrokenPipe {
            CliError::OutputClosed
        } else {
            CliError::Failed(format!("cannot write to standard output: {error}"))
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Failed(message) => f.write_str(message),
            CliError::OutputClosed => f.write_str("standard output was closed"),
        }
    }
}

/// Writes `text` to standard output and flushes it, so that a failure is known before the
/// caller goes on (an access key is kept only once its secret was written out).
pub fn print(text: impl fmt::Display) -> Result<(), CliError> {
    write_to(&mut io::stdout().lock(), text)
}

/// [`print`] with a newline.
pub fn println(text: impl fmt::Display) -> Result<(), CliError> {
    print(format_args!("{text}\n"))
}

/// [`print`] to any writer (tests use a closed pipe).
pub fn write_to(out: &mut impl Write, text: impl fmt::Display) -> Result<(), CliError> {
    write!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Writes a line to standard error; a closed standard error is ignored (there is nowhere left
/// to say anything).
pub fn warn(text: impl fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// A table printed with columns as wide as their widest cell, two spaces apart; the last
/// column is not padded, so lines carry no trailing blanks.
#[derive(Debug)]
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings.
    pub fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are blank, extra cells are dropped).
    pub fn row(&mut self, cells: impl IntoIterator<Item = String>) {
        let mut row: Vec<String> = cells.into_iter().take(self.header.len()).collect();
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let header = self.header.iter().map(|h| (*h).to_owned()).collect();
        for line in std::iter::once(&header).chain(&self.rows) {
            let last = line.len().saturating_sub(1);
            for (index, (cell, width)) in line.iter().zip(&widths).enumerate() {
                if index == last {
                    writeln!(f, "{cell}")?;
                } else {
                    write!(f, "{cell:<width$}  ")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_with_their_headers() {
        let mut table = Table::new(&["ACCESS KEY ID", "STATUS", "USER"]);
        table.row([
            "AKIAEXAMPLE0000000001".to_owned(),
            "Active".to_owned(),
            "a".to_owned(),
        ]);
        table.row(["AKIA2".to_owned(), "Inactive".to_owned(), "bob".to_owned()]);
        let text = table.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        for column in ["STATUS", "USER"] {
            let at = lines[0].find(column).unwrap();
            for line in &lines[1..] {
                assert_eq!(&line[at - 2..at], "  ", "{line:?}");
                assert_ne!(line.as_bytes()[at], b' ', "{line:?}");
            }
        }
        assert!(lines.iter().all(|line| !line.ends_with(' ')));
    }

    #[test]
    fn a_closed_reader_is_output_closed_and_other_errors_fail() {
        struct Closed(io::ErrorKind);
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(self.0.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        assert_eq!(
            write_to(&mut Closed(io::ErrorKind::BrokenPipe), "x"),
            Err(CliError::OutputClosed)
        );
        assert!(matches!(
            write_to(&mut Closed(io::ErrorKind::StorageFull), "x"),
            Err(CliError::Failed(_))
        ));
    }
}
