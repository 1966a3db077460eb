//! `helpline mail-in`: one mail on standard input, handed to the running server (the
//! pipe of an MTA alias, e.g. Postfix's `reply: "|helpline mail-in"`). The exit status is
//! what an MTA understands (sysexits): 0 stored or deliberately ignored; 65 not a mail
//! (nothing stored, the MTA bounces it); 75 try again later (the server is unreachable,
//! failing or not given the right key), so no mail is lost while the operator looks.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use crate::config::Config;
use crate::mail::inbound::MAX_BYTES;
use crate::secrets::Secrets;

const EX_DATAERR: u8 = 65;
const EX_TEMPFAIL: u8 = 75;

pub async fn mail_in(config: Config, server: Option<String>) -> anyhow::Result<ExitCode> {
    let mut raw = Vec::new();
    std::io::stdin().take(MAX_BYTES as u64 + 1).read_to_end(&mut raw).context("reading standard input")?;
    if raw.len() > MAX_BYTES {
        eprintln!("mail-in: the mail is larger than {MAX_BYTES} bytes; nothing stored");
        return Ok(ExitCode::from(EX_DATAERR));
    }
    let key = Secrets::new(config.load_or_create_secret()?).mail_in_key();
    let server = server.unwrap_or_else(|| config.public_url()).trim_end_matches('/').to_string();
    crate::install_tls();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let sent = client
        .post(format!("{server}/v1/mail/inbound"))
        .bearer_auth(key)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            eprintln!("mail-in: the server at {server} could not be reached ({error}); try again later");
            return Ok(ExitCode::from(EX_TEMPFAIL));
        }
    };
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let words = body["error"]["message"].as_str().unwrap_or("").to_string();
    match status.as_u16() {
        200 => {
            println!("{}", body);
            Ok(ExitCode::SUCCESS)
        }
        400 => {
            eprintln!("mail-in: {words}");
            Ok(ExitCode::from(EX_DATAERR))
        }
        401 => {
            eprintln!(
                "mail-in: the server refused the mail-in key: is --data-dir the server's own? ({words})"
            );
            Ok(ExitCode::from(EX_TEMPFAIL))
        }
        _ => {
            eprintln!("mail-in: the server answered {status} ({words}); try again later");
            Ok(ExitCode::from(EX_TEMPFAIL))
        }
    }
}
