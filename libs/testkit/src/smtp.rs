//! [`SmtpSink`]: a real SMTP server for tests, on a loopback port, that keeps every message
//! it accepts. It speaks enough of RFC 5321 for a client such as lettre (EHLO/HELO, MAIL,
//! RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), advertises no STARTTLS and no AUTH,
//! and can be taken down and brought back ([`SmtpSink::set_down`]): while down it answers
//! every new connection and every new transaction with `421` and hangs up, as a relay that
//! is going away does.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader},
    net::{TcpListener, TcpStream},
    sync::Notify,
};

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent, CRLF line ends, dot-unstuffed.
    pub data: String,
}

impl Received {
    /// A header's value, unfolded; the first one of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with(' ') || line.starts_with('\t') {
                    v.push(' ');
                    v.push_str(line.trim());
                    continue;
                }
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }

    pub fn message_id(&self) -> String {
        self.header("Message-ID").unwrap_or_default()
    }

    /// The body with quoted-printable soft line breaks and `=3D` undone: enough to search
    /// text and HTML parts for what a test expects.
    pub fn body_text(&self) -> String {
        self.data
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .replace("=\r\n", "")
            .replace("=3D", "=")
    }
}

struct Inner {
    messages: Mutex<Vec<Received>>,
    down: AtomicBool,
    arrived: Notify,
}

/// A running sink; dropped with the test's runtime.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    inner: Arc<Inner>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the SMTP sink");
        let port = listener.local_addr().expect("local addr").port();
        let inner = Arc::new(Inner {
            messages: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
            arrived: Notify::new(),
        });
        let serving = inner.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inner = serving.clone();
                tokio::spawn(async move {
                    let _ = session(stream, &inner).await;
                });
            }
        });
        Self { port, inner }
    }

    /// `SMTP_URL` for this sink (plain SMTP, no TLS: a local catcher).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }

    pub fn messages(&self) -> Vec<Received> {
        self.inner.messages.lock().expect("sink lock").clone()
    }

    /// Waits until at least `n` messages have arrived (or `timeout` passed) and returns all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.arrived.notified();
            let now = self.messages();
            if now.len() >= n || tokio::time::Instant::now() >= deadline {
                return now;
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }

    /// Waits `quiet` with no new message, then returns all: for "and nothing more came".
    pub async fn settle(&self, quiet: Duration) -> Vec<Received> {
        loop {
            let before = self.messages().len();
            tokio::time::sleep(quiet).await;
            let after = self.messages();
            if after.len() == before {
                return after;
            }
        }
    }
}

async fn session(stream: TcpStream, inner: &Inner) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if inner.down.load(Ordering::SeqCst) {
        write.write_all(b"421 4.3.2 sink is down\r\n").await?;
        return Ok(());
    }
    write.write_all(b"220 docket-test-sink ESMTP\r\n").await?;
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-docket-test-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            if inner.down.load(Ordering::SeqCst) {
                write.write_all(b"421 4.3.2 sink is down\r\n").await?;
                return Ok(());
            }
            from = address(&cmd[10..]);
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&cmd[8..]));
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            inner.messages.lock().expect("sink lock").push(Received {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            inner.arrived.notify_waiters();
            write.write_all(b"250 OK queued\r\n").await?;
        } else if upper == "RSET" {
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
}

fn address(arg: &str) -> String {
    let arg = arg.trim();
    let inner = arg
        .strip_prefix('<')
        .and_then(|a| a.split_once('>'))
        .map_or(arg, |(a, _)| a);
    inner.to_owned()
}
