//! The language a page is shown in: Simplified Chinese first, English on request.

use axum::http::{HeaderMap, header};

/// The language a page is shown in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese, the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The page's language: an explicit `?lang=` wins, then the browser's
    /// `Accept-Language` (English only when it is preferred over Chinese).
    pub fn detect(query: Option<&str>, headers: &HeaderMap) -> Self {
        match query.map(str::trim) {
            Some(q) if q.eq_ignore_ascii_case("en") || q.starts_with("en-") => return Self::En,
            Some(q) if q.starts_with("zh") => return Self::Zh,
            _ => {}
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Self::from_accept_language(accept)
    }

    fn from_accept_language(accept: &str) -> Self {
        let (mut zh, mut en) = (0.0_f32, 0.0_f32);
        for part in accept.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").map(str::to_owned))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if tag == "zh" || tag.starts_with("zh-") {
                zh = zh.max(q);
            } else if tag == "en" || tag.starts_with("en-") {
                en = en.max(q);
            }
        }
        if en > zh { Self::En } else { Self::Zh }
    }

    /// The `lang` attribute of the page.
    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    /// Whether the page is in English.
    pub fn is_en(self) -> bool {
        self == Self::En
    }

    /// One of two texts.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }

    /// The part of a server message "中文 (English)" in this language; the whole
    /// message when it is not in that shape.
    pub fn pick(self, message: &str) -> String {
        let split = message
            .strip_suffix(')')
            .and_then(|m| m.find(" (").map(|i| (&m[..i], &m[i + 2..])));
        match (split, self) {
            (Some((zh, _)), Self::Zh) => zh.to_owned(),
            (Some((_, en)), Self::En) => en.to_owned(),
            (None, _) => message.to_owned(),
        }
    }

    /// `&lang=en` for links that must keep English, or nothing.
    pub fn amp_param(self) -> &'static str {
        self.t("", "&lang=en")
    }

    /// `?lang=en` for links that must keep English, or nothing.
    pub fn query_param(self) -> &'static str {
        self.t("", "?lang=en")
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn english_only_when_asked_or_preferred() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::detect(None, &headers), Lang::Zh);
        assert_eq!(Lang::detect(Some("en"), &headers), Lang::En);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-US,en;q=0.9"),
        );
        assert_eq!(Lang::detect(None, &headers), Lang::En);
        assert_eq!(Lang::detect(Some("zh"), &headers), Lang::Zh);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("zh-CN,zh;q=0.9,en;q=0.8"),
        );
        assert_eq!(Lang::detect(None, &headers), Lang::Zh);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr, en;q=0.5"),
        );
        assert_eq!(Lang::detect(None, &headers), Lang::En);
    }

    #[test]
    fn server_messages_are_split_by_language() {
        let m = "请选择问题类别 (choose a category)";
        assert_eq!(Lang::Zh.pick(m), "请选择问题类别");
        assert_eq!(Lang::En.pick(m), "choose a category");
        assert_eq!(Lang::En.pick("plain"), "plain");
    }
}
