//! Errors in log lines: the whole cause chain, not only the outermost message.

use std::error::Error;

/// `outer: cause: root cause`, for a log field.
pub fn error_chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn shows_every_cause() {
        let err = Outer(std::io::Error::other("disk full"));
        assert_eq!(error_chain(&err), "outer: disk full");
    }
}
