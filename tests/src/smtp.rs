//! A local SMTP server for the e-mail channel's tests: it speaks enough of RFC 5321 to
//! take mail from a real client (greeting, `EHLO`/`HELO`, `AUTH PLAIN` and `AUTH
//! LOGIN`, `MAIL FROM`, `RCPT TO`, `DATA` with dot-unstuffing, `RSET`, `NOOP`,
//! `QUIT`), records what it accepted, and can be told to answer a step with a 4xx or
//! 5xx of the test's choosing, once or for a given recipient. Its reading of a mail
//! (RFC 2047 encoded words in headers, base64 and quoted-printable bodies) is its
//! own, independent of the sender's library.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The step of a conversation an answer is scripted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Instead of the greeting (the server then closes).
    Greeting,
    Mail,
    Rcpt,
    /// After the message's data.
    Data,
}

/// A mail the server accepted.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The login it came with, if any.
    pub login: Option<String>,
    /// The message as sent, dot-unstuffed.
    pub data: String,
}

impl Mail {
    fn split(&self) -> (&str, &str) {
        self.data
            .split_once("\r\n\r\n")
            .unwrap_or((self.data.as_str(), ""))
    }

    /// A header's value, unfolded, with encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.split();
        let mut unfolded: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = unfolded.last_mut() {
                    last.push_str(line);
                }
            } else {
                unfolded.push(line.to_owned());
            }
        }
        unfolded.iter().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| decode_words(v.trim()))
        })
    }

    /// The subject, decoded.
    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    /// The body, decoded from its transfer encoding, as text.
    pub fn text(&self) -> String {
        let (_, body) = self.split();
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.trim() {
            "base64" => {
                let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                STANDARD.decode(clean).unwrap_or_default()
            }
            "quoted-printable" => quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// `=?utf-8?B?…?=` and `=?utf-8?Q?…?=` words decoded; whitespace between two encoded
/// words dropped, as RFC 2047 says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, from) = rest.split_at(start);
        let parsed = (|| {
            let inner = &from[2..];
            let (charset, inner) = inner.split_once('?')?;
            let (enc, inner) = inner.split_once('?')?;
            let end = inner.find("?=")?;
            let text = &inner[..end];
            if !charset.eq_ignore_ascii_case("utf-8") {
                return None;
            }
            let bytes = match enc {
                "B" | "b" => STANDARD.decode(text).ok()?,
                "Q" | "q" => quoted_printable(&text.replace('_', " ")),
                _ => return None,
            };
            let used = 2 + charset.len() + 1 + enc.len() + 1 + end + 2;
            Some((String::from_utf8(bytes).ok()?, used))
        })();
        match parsed {
            Some((word, used)) => {
                if !(after_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&word);
                rest = &from[used..];
                after_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &from[2..];
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

fn quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1..i + 3) == Some(b"\r\n") => i += 3,
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3).unwrap_or_default())
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[derive(Debug, Default)]
struct Shared {
    mails: Vec<Mail>,
    /// Answers used once each, in order, at their stage.
    script: VecDeque<(Stage, u16, String)>,
    /// Recipients refused every time, with their answer.
    refused: HashMap<String, (u16, String)>,
    /// The login and password it asks for; `None`: anyone may send.
    login: Option<(String, String)>,
    /// Every conversation's commands (passwords left out).
    commands: Vec<String>,
}

/// The fake SMTP server, on a local port.
#[derive(Clone, Debug)]
pub struct FakeSmtp {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl FakeSmtp {
    /// Starts it.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("an address");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let serving = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = serving.clone();
                tokio::spawn(async move {
                    let _ = converse(stream, shared).await;
                });
            }
        });
        Self { addr, shared }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks for this login and password before mail is taken.
    pub fn require_login(&self, user: &str, password: &str) {
        self.lock().login = Some((user.to_owned(), password.to_owned()));
    }

    /// Answers `stage` once with `code` and `words`, after any answers scripted before.
    pub fn answer_once(&self, stage: Stage, code: u16, words: &str) {
        self.lock()
            .script
            .push_back((stage, code, words.to_owned()));
    }

    /// Refuses `address` as a recipient every time.
    pub fn refuse(&self, address: &str, code: u16, words: &str) {
        self.lock()
            .refused
            .insert(address.to_ascii_lowercase(), (code, words.to_owned()));
    }

    /// The mails accepted so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.lock().mails.clone()
    }

    /// The mails accepted for `address`.
    pub fn mails_to(&self, address: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Every command heard, in order (passwords left out).
    pub fn commands(&self) -> Vec<String> {
        self.lock().commands.clone()
    }
}

/// The scripted answer for `stage`, if one is next for it.
fn scripted(shared: &Mutex<Shared>, stage: Stage) -> Option<(u16, String)> {
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    let at = s.script.iter().position(|(st, ..)| *st == stage)?;
    s.script.remove(at).map(|(_, code, words)| (code, words))
}

/// The address in `FROM:<a@b> …` or `TO:<a@b>`.
fn address(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg[start..].find('>').map_or(arg.len(), |i| start + i);
    arg[start..end].trim().to_owned()
}

async fn converse(stream: TcpStream, shared: Arc<Mutex<Shared>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if let Some((code, words)) = scripted(&shared, Stage::Greeting) {
        write
            .write_all(format!("{code} {words}\r\n").as_bytes())
            .await?;
        return Ok(());
    }
    write.write_all(b"220 fake.smtp ESMTP ready\r\n").await?;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut login: Option<String> = None;
    let mut line = String::new();
    macro_rules! reply {
        ($text:expr) => {
            write.write_all(format!("{}\r\n", $text).as_bytes()).await?
        };
    }
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']).to_owned();
        let (verb, arg) = command
            .split_once(' ')
            .map_or((command.as_str(), ""), |(v, a)| (v, a));
        let verb = verb.to_ascii_uppercase();
        {
            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
            let shown = if verb == "AUTH" {
                format!("AUTH {}", arg.split(' ').next().unwrap_or_default())
            } else {
                command.clone()
            };
            s.commands.push(shown);
        }
        match verb.as_str() {
            "EHLO" => {
                reply!(format!(
                    "250-fake.smtp greets {arg}\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 10485760"
                ));
            }
            "HELO" => reply!("250 fake.smtp"),
            "NOOP" => reply!("250 2.0.0 OK"),
            "RSET" => {
                from = None;
                to.clear();
                reply!("250 2.0.0 OK");
            }
            "QUIT" => {
                reply!("221 2.0.0 Bye");
                return Ok(());
            }
            "STARTTLS" => reply!("454 4.7.0 TLS not available"),
            "AUTH" => {
                let mut parts = arg.split(' ');
                let mechanism = parts.next().unwrap_or_default().to_ascii_uppercase();
                let initial = parts.next().map(str::to_owned);
                let mut next = async |prompt: &str| -> std::io::Result<String> {
                    write.write_all(format!("{prompt}\r\n").as_bytes()).await?;
                    let mut answer = String::new();
                    lines.read_line(&mut answer).await?;
                    Ok(answer.trim().to_owned())
                };
                let decode = |b: &str| {
                    String::from_utf8(STANDARD.decode(b).unwrap_or_default()).unwrap_or_default()
                };
                let given = match mechanism.as_str() {
                    "PLAIN" => {
                        let token = match initial {
                            Some(t) => t,
                            None => next("334 ").await?,
                        };
                        let plain = decode(&token);
                        let mut fields = plain.split('\0').skip(1);
                        Some((
                            fields.next().unwrap_or_default().to_owned(),
                            fields.next().unwrap_or_default().to_owned(),
                        ))
                    }
                    "LOGIN" => {
                        let user = match initial {
                            Some(t) => decode(&t),
                            None => decode(&next("334 VXNlcm5hbWU6").await?),
                        };
                        let password = decode(&next("334 UGFzc3dvcmQ6").await?);
                        Some((user, password))
                    }
                    _ => None,
                };
                let wanted = shared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .login
                    .clone();
                match given {
                    None => reply!("504 5.5.4 Unrecognized authentication type"),
                    Some(g) if wanted.as_ref().is_none_or(|w| *w == g) => {
                        login = Some(g.0);
                        reply!("235 2.7.0 Authentication successful");
                    }
                    Some(_) => reply!("535 5.7.8 Authentication credentials invalid"),
                }
            }
            "MAIL" => {
                let needs_login = shared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .login
                    .is_some();
                if let Some((code, words)) = scripted(&shared, Stage::Mail) {
                    reply!(format!("{code} {words}"));
                    if code == 421 {
                        return Ok(());
                    }
                } else if needs_login && login.is_none() {
                    reply!("530 5.7.0 Authentication required");
                } else {
                    from = Some(address(arg));
                    to.clear();
                    reply!("250 2.1.0 Ok");
                }
            }
            "RCPT" => {
                let who = address(arg);
                let refused = shared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .refused
                    .get(&who.to_ascii_lowercase())
                    .cloned();
                if from.is_none() {
                    reply!("503 5.5.1 Need MAIL command");
                } else if let Some((code, words)) =
                    refused.or_else(|| scripted(&shared, Stage::Rcpt))
                {
                    reply!(format!("{code} {words}"));
                } else {
                    to.push(who);
                    reply!("250 2.1.5 Ok");
                }
            }
            "DATA" => {
                if from.is_none() || to.is_empty() {
                    reply!("503 5.5.1 No valid recipients");
                    continue;
                }
                reply!("354 End data with <CR><LF>.<CR><LF>");
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if lines.read_line(&mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" || l == ".\n" {
                        break;
                    }
                    // Dot-unstuffing.
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                if let Some((code, words)) = scripted(&shared, Stage::Data) {
                    reply!(format!("{code} {words}"));
                } else {
                    let n = {
                        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                        s.mails.push(Mail {
                            from: from.take().unwrap_or_default(),
                            to: std::mem::take(&mut to),
                            login: login.clone(),
                            data,
                        });
                        s.mails.len()
                    };
                    reply!(format!("250 2.0.0 Ok: queued as FAKE{n:04}"));
                }
            }
            _ => reply!("502 5.5.2 Command not recognized"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_and_bodies_decode() {
        assert_eq!(
            decode_words("=?utf-8?b?5pmo5oql?= =?utf-8?b?IOWfjuWFs+mVhw==?="),
            "晨报 城关镇"
        );
        assert_eq!(
            decode_words("=?utf-8?Q?caf=C3=A9_au_lait?="),
            "café au lait"
        );
        assert_eq!(decode_words("plain words"), "plain words");
        assert_eq!(
            String::from_utf8(quoted_printable("=E6=99=A8=\r\n=E6=8A=A5")).expect("UTF-8"),
            "晨报"
        );
    }
}
