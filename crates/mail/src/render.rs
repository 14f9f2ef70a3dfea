//! How each [`Message`] reads: its subject, plain text and HTML, from the
//! askama templates in `templates/<kind>/` (`subject.txt`, `text.txt`,
//! `html.html`; the HTML ones extend `templates/layout.html`). Templates
//! are compiled into the crate and checked at build time: a variable that
//! the kind's facts (below) do not have is a compile error. `.html`
//! templates escape what they print, `.txt` ones print it as it is.

use std::{fmt, time::Duration};

use todos_domain::{DomainError, Email, Message};

/// An email as it reads. Lines of `text` and `html` end in CRLF.
pub(crate) struct Rendered {
    /// One line, trimmed.
    pub(crate) subject: String,
    /// The plain text version (for `Message::Text`, the caller's body).
    pub(crate) text: String,
    /// The HTML version, if the message has one.
    pub(crate) html: Option<String>,
}

/// Leaves the text and HTML out: they may hold a code.
impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field("subject", &self.subject)
            .field("html", &self.html.is_some())
            .finish_non_exhaustive()
    }
}

/// Renders `email` from the templates of its kind of message.
pub(crate) fn render(email: &Email) -> Result<Rendered, DomainError> {
    let address = email.to.as_str();
    let rendered = match &email.message {
        Message::VerificationCode { code, valid_for } => {
            verification_code::render(&VerificationCode {
                address,
                code: code.expose(),
                minutes: minutes(*valid_for),
            })
        }
        Message::EmailVerified { username } => {
            email_verified::render(&EmailVerified { address, username })
        }
        Message::PasswordResetCode {
            username,
            code,
            valid_for,
        } => password_reset_code::render(&PasswordResetCode {
            username,
            code: code.expose(),
            minutes: minutes(*valid_for),
        }),
        Message::PasswordChanged { username } => {
            password_changed::render(&PasswordChanged { username })
        }
        Message::AccountDeleted { username } => {
            account_deleted::render(&AccountDeleted { username })
        }
        Message::Text { subject, body } => {
            return Ok(Rendered {
                subject: one_line(subject),
                text: body.clone(),
                html: None,
            });
        }
        other => {
            return Err(DomainError::unexpected(format!(
                "no mail templates for {} messages",
                other.kind()
            )));
        }
    };
    rendered.map_err(|e| {
        DomainError::unexpected(format!("cannot render {} email: {e}", email.message.kind()))
    })
}

// The facts each kind's templates may print, by name (`{{ code }}`). A
// template that needs another (the recipient's address, say) needs a field
// here and its value in `render`.

/// `templates/verification_code/`.
struct VerificationCode<'a> {
    address: &'a str,
    code: &'a str,
    minutes: u64,
}

/// `templates/email_verified/`.
struct EmailVerified<'a> {
    address: &'a str,
    username: &'a str,
}

/// `templates/password_reset_code/`.
struct PasswordResetCode<'a> {
    username: &'a str,
    code: &'a str,
    minutes: u64,
}

/// `templates/password_changed/`.
struct PasswordChanged<'a> {
    username: &'a str,
}

/// `templates/account_deleted/`.
struct AccountDeleted<'a> {
    username: &'a str,
}

/// The three templates of one kind, over its facts `$Facts` (reached
/// through `Deref`, so a template says `{{ code }}`); the HTML one also
/// has `{{ subject }}`, the rendered subject, for its `<title>`.
macro_rules! templates {
    ($module:ident: $Facts:ident, $subject:tt, $text:tt, $html:tt) => {
        mod $module {
            use askama::Template;

            use super::{Rendered, crlf, one_line, $Facts as Facts};

            #[derive(Template)]
            #[template(path = $subject)]
            struct Subject<'a>(&'a Facts<'a>);

            #[derive(Template)]
            #[template(path = $text)]
            struct Text<'a>(&'a Facts<'a>);

            #[derive(Template)]
            #[template(path = $html)]
            struct Html<'a> {
                facts: &'a Facts<'a>,
                subject: &'a str,
            }

            impl<'a> std::ops::Deref for Subject<'a> {
                type Target = Facts<'a>;
                fn deref(&self) -> &Facts<'a> {
                    self.0
                }
            }

            impl<'a> std::ops::Deref for Text<'a> {
                type Target = Facts<'a>;
                fn deref(&self) -> &Facts<'a> {
                    self.0
                }
            }

            impl<'a> std::ops::Deref for Html<'a> {
                type Target = Facts<'a>;
                fn deref(&self) -> &Facts<'a> {
                    self.facts
                }
            }

            pub(super) fn render(facts: &Facts<'_>) -> askama::Result<Rendered> {
                let subject = one_line(&Subject(facts).render()?);
                let text = crlf(&Text(facts).render()?);
                let html = crlf(
                    &Html {
                        facts,
                        subject: &subject,
                    }
                    .render()?,
                );
                Ok(Rendered {
                    subject,
                    text,
                    html: Some(html),
                })
            }
        }
    };
}

templates!(
    verification_code: VerificationCode,
    "verification_code/subject.txt",
    "verification_code/text.txt",
    "verification_code/html.html"
);
templates!(
    email_verified: EmailVerified,
    "email_verified/subject.txt",
    "email_verified/text.txt",
    "email_verified/html.html"
);
templates!(
    password_reset_code: PasswordResetCode,
    "password_reset_code/subject.txt",
    "password_reset_code/text.txt",
    "password_reset_code/html.html"
);
templates!(
    password_changed: PasswordChanged,
    "password_changed/subject.txt",
    "password_changed/text.txt",
    "password_changed/html.html"
);
templates!(
    account_deleted: AccountDeleted,
    "account_deleted/subject.txt",
    "account_deleted/text.txt",
    "account_deleted/html.html"
);

/// Whole minutes of validity, as the emails state it.
fn minutes(valid_for: Duration) -> u64 {
    valid_for.as_secs() / 60
}

/// The lines of `subject`, trimmed and joined by a space: a subject is
/// one line.
fn one_line(subject: &str) -> String {
    subject
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` without trailing blank lines or spaces, every line (the last
/// too) ending in CRLF.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    for line in text.trim_end().lines() {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use todos_domain::{EmailAddress, Otp};

    use super::*;

    pub(crate) fn email(message: Message) -> Email {
        Email {
            to: EmailAddress::parse("ann@example.com").unwrap(),
            message,
        }
    }

    fn code() -> Otp {
        Otp::parse("123456").unwrap()
    }

    /// Every kind of message the templates cover, for `username`.
    pub(crate) fn all_kinds(username: &str) -> Vec<Message> {
        vec![
            Message::VerificationCode {
                code: code(),
                valid_for: Duration::from_secs(180),
            },
            Message::EmailVerified {
                username: username.into(),
            },
            Message::PasswordResetCode {
                username: username.into(),
                code: code(),
                valid_for: Duration::from_secs(900),
            },
            Message::PasswordChanged {
                username: username.into(),
            },
            Message::AccountDeleted {
                username: username.into(),
            },
        ]
    }

    /// What every templated email has: a one-line subject, CRLF lines,
    /// no template syntax left, a minimal HTML5 document titled by the
    /// subject and loading nothing.
    fn check_shape(kind: &str, r: &Rendered) -> String {
        assert!(!r.subject.is_empty(), "{kind}");
        assert_eq!(r.subject, r.subject.trim(), "{kind}");
        assert!(!r.subject.contains(['\r', '\n']), "{kind}");
        let html = r.html.clone().expect(kind);
        for part in [&r.subject, &r.text, &html] {
            for syntax in ["{{", "}}", "{%", "%}", "{#", "#}"] {
                assert!(!part.contains(syntax), "{kind}: {syntax} in {part}");
            }
        }
        for part in [&r.text, &html] {
            assert!(part.ends_with("\r\n"), "{kind}: {part:?}");
            assert!(!part.ends_with("\r\n\r\n"), "{kind}: {part:?}");
            assert_eq!(
                part.matches('\n').count(),
                part.matches("\r\n").count(),
                "{kind}: every line ends in CRLF: {part:?}"
            );
        }
        assert!(html.starts_with("<!doctype html>\r\n"), "{kind}: {html}");
        assert!(html.contains("<html lang=\"en\">"), "{kind}: {html}");
        assert!(html.contains("<meta charset=\"utf-8\">"), "{kind}: {html}");
        assert!(
            html.contains(&format!("<title>{}</title>", r.subject)),
            "{kind}: {html}"
        );
        assert!(html.contains("<p>"), "{kind}: {html}");
        assert!(html.trim_end().ends_with("</html>"), "{kind}: {html}");
        for external in ["<script", "src=", "href=", "http:", "https:", "url("] {
            assert!(!html.contains(external), "{kind}: {external} in {html}");
        }
        html
    }

    #[test]
    fn every_kind_renders_its_facts() {
        for message in all_kinds("ann") {
            let kind = message.kind();
            let r = render(&email(message)).unwrap();
            let html = check_shape(kind, &r);
            let text = r.text.as_str();
            match kind {
                "verification code" => {
                    assert_eq!(r.subject, "Your todos verification code");
                    assert!(
                        text.starts_with(
                            "Your verification code is 123456.\r\n\
                             It expires in 3 minutes. If you did not ask for it, ignore this email.\r\n"
                        ),
                        "{text}"
                    );
                    assert!(text.contains("ann@example.com"), "{text}");
                    assert!(html.contains("<strong>123456</strong>"), "{html}");
                    assert!(html.contains("3 minutes"), "{html}");
                    assert!(html.contains("ann@example.com"), "{html}");
                }
                "email verified" => {
                    assert_eq!(r.subject, "Your email address is verified");
                    assert!(
                        text.contains(
                            "ann@example.com is now the verified address \
                             of the todos account ann.\r\n"
                        ),
                        "{text}"
                    );
                    assert!(html.contains("ann@example.com"), "{html}");
                    assert!(html.contains("<strong>ann</strong>"), "{html}");
                }
                "password reset code" => {
                    assert_eq!(r.subject, "Your todos password reset code");
                    assert!(
                        text.starts_with(
                            "Your password reset code is 123456.\r\n\
                             It expires in 15 minutes.\r\n"
                        ),
                        "{text}"
                    );
                    assert!(
                        text.contains(
                            "If you did not ask to reset the password of the todos account ann,\r\n\
                             you can ignore this email: the password stays as it is.\r\n"
                        ),
                        "{text}"
                    );
                    assert!(html.contains("<strong>123456</strong>"), "{html}");
                    assert!(html.contains("15 minutes"), "{html}");
                    assert!(html.contains("<strong>ann</strong>"), "{html}");
                }
                "password changed" => {
                    assert_eq!(r.subject, "Your todos password was changed");
                    assert!(
                        text.contains(
                            "The password of the todos account ann was changed,\r\n\
                             and its other sessions were ended."
                        ),
                        "{text}"
                    );
                    assert!(
                        text.contains("reset the password with a code sent to this address"),
                        "{text}"
                    );
                    assert!(text.contains("POST /users/password/forgot"), "{text}");
                    assert!(html.contains("<strong>ann</strong>"), "{html}");
                    assert!(html.contains("POST /users/password/forgot"), "{html}");
                }
                "account deleted" => {
                    assert_eq!(r.subject, "Your todos account was deleted");
                    assert!(
                        text.contains(
                            "The todos account ann was deleted,\r\n\
                             with its todos and sessions. The name can be taken again."
                        ),
                        "{text}"
                    );
                    assert!(html.contains("<strong>ann</strong>"), "{html}");
                    assert!(html.contains("can be taken again"), "{html}");
                }
                other => panic!("untested kind {other}"),
            }
        }
    }

    #[test]
    fn plain_text_of_short_names_fits_7bit_lines() {
        // lettre sends ASCII with lines under 76 bytes (CRLF included) as
        // 7bit, verbatim; longer lines make the part quoted-printable.
        for message in all_kinds("ann") {
            let kind = message.kind();
            let r = render(&email(message)).unwrap();
            for part in [&r.text, r.html.as_ref().unwrap()] {
                assert!(part.is_ascii(), "{kind}: {part}");
                for line in part.split("\r\n") {
                    assert!(line.len() <= 73, "{kind}: {line:?} is too long for 7bit");
                }
            }
        }
    }

    #[test]
    fn html_escapes_what_it_prints_and_plain_text_does_not() {
        let name = "<script>alert(1)</script>";
        for message in all_kinds(name) {
            let kind = message.kind();
            let r = render(&email(message)).unwrap();
            let html = r.html.unwrap();
            assert!(!html.contains("<script"), "{kind}: {html}");
            if kind != "verification code" {
                // askama's escaper writes numeric references (`&#60;`,
                // not `&lt;`), which mean the same.
                assert!(
                    html.contains("<strong>&#60;script&#62;alert(1)&#60;/script&#62;</strong>"),
                    "{kind}: {html}"
                );
                assert!(r.text.contains(name), "{kind}: {}", r.text);
            }
        }
    }

    #[test]
    fn minutes_are_whole_and_one_is_singular() {
        let r = render(&email(Message::VerificationCode {
            code: code(),
            valid_for: Duration::from_secs(119),
        }))
        .unwrap();
        assert!(
            r.text.contains("It expires in 1 minute. If you did not"),
            "{}",
            r.text
        );
        assert!(r.html.unwrap().contains("in 1 minute."));
        let r = render(&email(Message::PasswordResetCode {
            username: "ann".into(),
            code: code(),
            valid_for: Duration::from_secs(3600),
        }))
        .unwrap();
        assert!(r.text.contains("It expires in 60 minutes."), "{}", r.text);
    }

    #[test]
    fn text_is_the_callers_own_without_html() {
        let r = render(&email(Message::Text {
            subject: "  Your digest\r\n  for today ".into(),
            body: "3 todos are due.\r\n{{ not a template }}\r\n".into(),
        }))
        .unwrap();
        assert_eq!(r.subject, "Your digest for today");
        assert_eq!(r.text, "3 todos are due.\r\n{{ not a template }}\r\n");
        assert!(r.html.is_none());
    }

    #[test]
    fn rendered_debug_leaves_the_code_out() {
        let r = render(&email(all_kinds("ann").remove(0))).unwrap();
        let debug = format!("{r:?}");
        assert!(!debug.contains("123456"), "{debug}");
        assert!(debug.contains("Your todos verification code"), "{debug}");
    }

    #[test]
    fn helpers() {
        assert_eq!(one_line(" a \n\n b\r\nc "), "a b c");
        assert_eq!(crlf("a\nb\r\nc\n\n  \n"), "a\r\nb\r\nc\r\n");
        assert_eq!(crlf("a"), "a\r\n");
        assert_eq!(minutes(Duration::from_secs(59)), 0);
        assert_eq!(minutes(Duration::from_secs(900)), 15);
    }
}
