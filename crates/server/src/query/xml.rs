//! Writing the Query protocol's XML answers: elements and escaped text, nothing more.

use std::fmt::Write as _;

/// An XML document under construction. Its buffer is wiped when dropped or grown (answers such
/// as AssumeRole's carry secrets), and starts large enough that a short answer never grows.
pub struct Xml {
    out: zeroize::Zeroizing<String>,
}

impl Default for Xml {
    fn default() -> Self {
        Self {
            out: zeroize::Zeroizing::new(String::with_capacity(4096)),
        }
    }
}

impl Xml {
    /// Opens `<name>`.
    pub fn open(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}>");
        self
    }

    /// Opens `<name xmlns="namespace">`.
    pub fn open_ns(&mut self, name: &str, namespace: &str) -> &mut Self {
        let _ = write!(self.out, "<{name} xmlns=\"{namespace}\">");
        self
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "</{name}>");
        self
    }

    /// `<name>text</name>`, with the text escaped.
    pub fn text(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        escape_into(&mut self.out, text);
        self.close(name)
    }

    /// `<name/>`.
    pub fn empty(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}/>");
        self
    }

    /// The document.
    pub fn finish(mut self) -> String {
        std::mem::take(&mut *self.out)
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// Percent-encodes a policy document as IAM returns it: every byte but `A-Z a-z 0-9 - _ . ~`
/// (spaces as `%20`, which botocore's `unquote` decodes).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text() {
        let mut xml = Xml::default();
        xml.open_ns("R", "ns")
            .text("A", "<a & 'b'>")
            .empty("E")
            .close("R");
        assert_eq!(
            xml.finish(),
            "<R xmlns=\"ns\"><A>&lt;a &amp; &apos;b&apos;&gt;</A><E/></R>"
        );
    }

    #[test]
    fn encodes_policies_as_iam_does() {
        assert_eq!(
            percent_encode("{\"a\": \"kms:*\"}"),
            "%7B%22a%22%3A%20%22kms%3A%2A%22%7D"
        );
    }
}
