use lettre::{
    Message,
    message::{
        Body, Mailbox, MultiPart, SinglePart,
        header::{ContentTransferEncoding, Subject},
    },
};
use todos_domain::{DomainError, Email};

use crate::{MailConfigError, render};

/// The email rendered (see `render.rs`) into a message from
/// `from` to its recipient: `multipart/alternative` with the plain text
/// first and the HTML second, or a single `text/plain; charset=utf-8`
/// part when it has no HTML.
pub(crate) fn message(from: &Mailbox, email: &Email) -> Result<Message, DomainError> {
    let rendered = render::render(email)?;
    let to: Mailbox = email
        .to
        .as_str()
        .parse()
        .map_err(|e| DomainError::unexpected(format!("recipient is not a mailbox: {e}")))?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject);
    let text = SinglePart::plain(body(rendered.text));
    match rendered.html {
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(SinglePart::html(body(html))),
        ),
        None => builder.singlepart(text),
    }
    .map_err(|e| DomainError::unexpected(format!("cannot build message: {e}")))
}

/// The `Subject:` of a composed message, for logs.
pub(crate) fn subject(message: &Message) -> String {
    message
        .headers()
        .get::<Subject>()
        .map(|s| s.as_ref().to_owned())
        .unwrap_or_default()
}

/// A part's body in lettre's choice of encoding, except that `base64`
/// becomes `quoted-printable`. lettre picks `7bit` for ASCII whose lines
/// have at most 73 characters (before CRLF); else `quoted-printable`,
/// unless over a third of the bytes would need escaping (text mostly not
/// ASCII, such as a long non-Latin username): then `base64`, which would
/// hide the ASCII lines, such as the one with the code, in the raw message.
fn body(text: String) -> Body {
    let body = Body::new(text.clone());
    if body.encoding() == ContentTransferEncoding::Base64 {
        Body::new_with_encoding(text, ContentTransferEncoding::QuotedPrintable)
            .expect("any text can be quoted-printable")
    } else {
        body
    }
}

pub(crate) fn parse_from(from: &str) -> Result<Mailbox, MailConfigError> {
    from.parse().map_err(|source| MailConfigError::Sender {
        from: from.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use todos_domain::{Message as Said, Otp};

    use super::*;
    use crate::render::tests::{all_kinds, email};

    fn raw(message: Said) -> String {
        let from = parse_from(crate::DEFAULT_FROM).unwrap();
        let message = message_of(&from, message);
        String::from_utf8(message.formatted()).unwrap()
    }

    fn message_of(from: &Mailbox, said: Said) -> Message {
        message(from, &email(said)).unwrap()
    }

    fn reset_code(username: &str) -> Said {
        Said::PasswordResetCode {
            username: username.into(),
            code: Otp::parse("123456").unwrap(),
            valid_for: Duration::from_secs(900),
        }
    }

    /// The `Content-Transfer-Encoding`s of the parts, in order.
    fn encodings(raw: &str) -> Vec<&str> {
        raw.split("Content-Transfer-Encoding: ")
            .skip(1)
            .map(|rest| rest.split("\r\n").next().unwrap())
            .collect()
    }

    #[test]
    fn templated_emails_are_plain_text_then_html_in_7bit() {
        for said in all_kinds("ann") {
            let kind = said.kind();
            let raw = raw(said);
            assert!(raw.contains("MIME-Version: 1.0\r\n"), "{kind}: {raw}");
            assert!(
                raw.contains("Content-Type: multipart/alternative;"),
                "{kind}: {raw}"
            );
            let plain = raw.find("Content-Type: text/plain; charset=utf-8\r\n");
            let html = raw.find("Content-Type: text/html; charset=utf-8\r\n");
            assert!(plain.unwrap() < html.unwrap(), "{kind}: {raw}");
            assert_eq!(encodings(&raw), ["7bit", "7bit"], "{kind}: {raw}");
        }
        let raw = raw(all_kinds("ann").remove(0));
        assert!(
            raw.contains("Subject: Your todos verification code\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains(
                "Your verification code is 123456.\r\n\
                 It expires in 3 minutes. If you did not ask for it, ignore this email.\r\n"
            ),
            "{raw}"
        );
        assert!(raw.contains("<strong>123456</strong>"), "{raw}");
    }

    #[test]
    fn non_ascii_text_is_quoted_printable_and_keeps_its_code_line() {
        let raw = raw(reset_code("Zoë"));
        assert_eq!(encodings(&raw), ["quoted-printable", "quoted-printable"]);
        assert!(
            raw.contains("Your password reset code is 123456.\r\nIt expires in 15 minutes.\r\n"),
            "{raw}"
        );
        assert!(raw.contains("todos account Zo=C3=AB,"), "{raw}");
        assert!(raw.contains("<strong>123456</strong>"), "{raw}");
    }

    #[test]
    fn text_lettre_would_send_as_base64_goes_quoted_printable() {
        let name = "名".repeat(256);
        let text = crate::render::render(&email(reset_code(&name)))
            .unwrap()
            .text;
        assert_eq!(
            Body::new(text).encoding(),
            ContentTransferEncoding::Base64,
            "lettre's own choice"
        );
        let raw = raw(reset_code(&name));
        assert_eq!(encodings(&raw), ["quoted-printable", "quoted-printable"]);
        assert!(
            raw.contains("Your password reset code is 123456.\r\n"),
            "{raw}"
        );
        assert!(raw.contains("<strong>123456</strong>"), "{raw}");
    }

    #[test]
    fn long_lines_are_quoted_printable_and_soft_broken() {
        let name = "a".repeat(40);
        let raw = raw(Said::EmailVerified {
            username: name.clone(),
        });
        assert_eq!(encodings(&raw)[0], "quoted-printable");
        assert!(!raw.contains(&format!("todos account {name}.")), "{raw}");
        assert!(raw.contains("=\r\n"), "soft line break: {raw}");
    }

    #[test]
    fn caller_text_is_a_single_plain_part() {
        let raw = raw(Said::Text {
            subject: "Your digest".into(),
            body: "3 todos are due.\r\n".into(),
        });
        assert!(raw.contains("Subject: Your digest\r\n"), "{raw}");
        assert!(raw.contains("MIME-Version: 1.0\r\n"), "{raw}");
        assert!(
            raw.contains("Content-Type: text/plain; charset=utf-8\r\n"),
            "{raw}"
        );
        assert!(!raw.contains("multipart"), "{raw}");
        assert!(!raw.contains("text/html"), "{raw}");
        assert_eq!(encodings(&raw), ["7bit"]);
        assert!(raw.contains("\r\n\r\n3 todos are due.\r\n"), "{raw:?}");
    }

    #[test]
    fn subject_of_a_message() {
        let from = parse_from(crate::DEFAULT_FROM).unwrap();
        let message = message_of(&from, all_kinds("ann").remove(1));
        assert_eq!(subject(&message), "Your email address is verified");
    }
}
