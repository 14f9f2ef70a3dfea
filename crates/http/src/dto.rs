//! Request and response bodies, shaped as the old FastAPI service's.

use serde::{Deserialize, Serialize};
use todos_domain::{Session, SessionId, Todo, Tokens, User};
use utoipa::ToSchema;

/// A new account: sign-up applies the full rules.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "username": "alice", "password": "correct-horse" }))]
pub struct SignUpIn {
    /// 1–256 characters in Unicode NFC; no leading or trailing whitespace;
    /// no control or format characters (Unicode Cc, Cf: zero-width spaces
    /// and joiners, bidi controls, …). The pattern says all of this except
    /// what a portable regex cannot: NFC, and the format characters beyond
    /// U+FFFF (U+110BD, U+110CD, U+13430–U+1343F, U+1BCA0–U+1BCA3,
    /// U+1D173–U+1D17A, U+E0001, U+E0020–U+E007F), refused all the same
    /// (422). A name that looks like a taken one (the same Unicode TR39
    /// confusable skeleton, unless both names are ASCII) is taken too (409).
    // The pattern is what `Username::parse` allows, in syntax that
    // ECMA-262 (without the `u` flag, as Swagger UI compiles it), Python
    // and Rust read alike: `\uXXXX` names only the BMP. No control (`Cc`:
    // U+0000–U+001F, U+007F–U+009F) or format character (`Cf`, Unicode 18,
    // as the `unicode-properties` crate has it) anywhere, and no whitespace
    // (the rest of `White_Space`, which `str::trim` strips) first or last.
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB](?:[^\u0000-\u001F\u007F-\u009F\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB])?$"
    )]
    pub username: String,
    /// 8–1024 characters.
    #[schema(min_length = 8, max_length = 1024, format = Password)]
    pub password: String,
}

/// Log-in checks only the lengths, so accounts made under the old
/// service's looser rules still get in.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "username": "alice", "password": "correct-horse" }))]
pub struct LogInIn {
    /// 1–256 characters, no NUL.
    #[schema(min_length = 1, max_length = 256, pattern = r"^[^\u0000]*$")]
    pub username: String,
    /// 1–1024 characters.
    #[schema(min_length = 1, max_length = 1024, format = Password)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "id": 1, "username": "alice" }))]
pub struct SignUpOut {
    pub id: i64,
    pub username: String,
}

impl From<User> for SignUpOut {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            username: user.username,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
    "token_type": "bearer",
    "expires_in": 86400,
    "refresh_token": "5f0c8a3e9b1d4c7a2e6f8b0d3a5c7e9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a"
}))]
pub struct TokenOut {
    /// An HS256 JWT: send it as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until `access_token` expires (its `exp` − `iat`).
    pub expires_in: u64,
    /// Opaque; POST it to /users/token/refresh for new tokens, once.
    pub refresh_token: String,
}

impl From<Tokens> for TokenOut {
    fn from(tokens: Tokens) -> Self {
        Self {
            access_token: tokens.access_token.expose().to_owned(),
            token_type: "bearer",
            expires_in: tokens.expires_in.as_secs(),
            refresh_token: tokens.refresh_token.expose().to_owned(),
        }
    }
}

/// Body of POST /users/token/refresh.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "refresh_token": "5f0c8a3e9b1d4c7a2e6f8b0d3a5c7e9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a" }))]
pub struct RefreshIn {
    /// The `refresh_token` of the last log-in or refresh.
    pub refresh_token: String,
}

/// The signed-in user's live sessions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsOut {
    pub sessions: Vec<SessionOut>,
}

/// One live session.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "3f2a9c1e5b7d4f60a8c2e4b6d8f0a1c3",
    "created_at": "2026-12-04T05:30:00Z",
    "expires_at": "2027-01-03T05:30:00Z",
    "current": true
}))]
pub struct SessionOut {
    /// Opaque; DELETE /users/me/sessions/{id} ends it.
    pub id: String,
    /// When its log-in happened (RFC 3339, UTC).
    pub created_at: String,
    /// When it ends by itself (RFC 3339, UTC).
    pub expires_at: String,
    /// Whether the request's own token belongs to it.
    pub current: bool,
}

impl SessionOut {
    pub fn new(session: Session, current: &SessionId) -> Self {
        Self {
            current: session.id == *current,
            id: session.id.as_str().to_owned(),
            created_at: rfc3339(session.created_at),
            expires_at: rfc3339(session.expires_at),
        }
    }
}

/// UTC, whole seconds: `2026-12-04T05:30:00Z`.
fn rfc3339(time: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "id": 1, "username": "alice", "email": "alice@example.com", "email_verified": true }))]
pub struct UserOut {
    pub id: i64,
    pub username: String,
    /// `null` until an address is verified.
    pub email: Option<String>,
    pub email_verified: bool,
}

impl From<User> for UserOut {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            username: user.username,
            email_verified: user.verified_email.is_some(),
            email: user.verified_email.map(|email| email.as_str().to_owned()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "contents": "buy milk", "is_done": false }))]
pub struct CreateTodoIn {
    /// 1–256 characters, no NUL (U+0000: PostgreSQL cannot store it).
    #[schema(min_length = 1, max_length = 256, pattern = r"^[^\u0000]*$")]
    pub contents: String,
    #[serde(default)]
    #[schema(default = false)]
    pub is_done: bool,
}

/// Body of PATCH /todos/{id}: at least one of the two, neither `null`
/// (unknown fields are ignored, so they do not count).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(
    min_properties = 1,
    example = json!({ "contents": "buy oat milk", "is_done": true })
)]
pub struct UpdateTodoIn {
    /// New contents: 1–256 characters, no NUL.
    #[serde(default, deserialize_with = "present")]
    #[schema(min_length = 1, max_length = 256, pattern = r"^[^\u0000]*$")]
    pub contents: Option<String>,
    /// New state.
    #[serde(default, deserialize_with = "present")]
    pub is_done: Option<bool>,
}

/// A field that may be absent (then `None`, by `#[serde(default)]`) but
/// not `null`: `null` is a wrong type, as the schema says.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "contents": "buy milk", "is_done": false,
    "created_at": "2026-12-05T09:30:00.123456Z", "updated_at": "2026-12-05T09:30:00.123456Z"
}))]
pub struct TodoOut {
    pub id: i64,
    pub contents: String,
    pub is_done: bool,
    /// When it was made (RFC 3339, UTC, microseconds).
    pub created_at: String,
    /// When it last changed (RFC 3339, UTC, microseconds); every change
    /// moves it forward.
    pub updated_at: String,
}

impl From<Todo> for TodoOut {
    fn from(todo: Todo) -> Self {
        Self {
            id: todo.id.get(),
            created_at: rfc3339_micros(todo.created_at),
            updated_at: rfc3339_micros(todo.updated_at),
            contents: todo.contents.into_inner(),
            is_done: todo.is_done,
        }
    }
}

/// UTC, microseconds: `2026-12-05T09:30:00.123456Z`.
fn rfc3339_micros(time: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A page of todos.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "todos": [
        { "id": 1, "contents": "buy milk", "is_done": false,
          "created_at": "2026-12-05T09:30:00.123456Z", "updated_at": "2026-12-05T09:30:00.123456Z" },
        { "id": 2, "contents": "write README", "is_done": true,
          "created_at": "2026-12-05T09:31:00.000001Z", "updated_at": "2026-12-05T10:02:13.500000Z" }
    ],
    "next": "/todos?order=ASC&limit=2&after=2"
}))]
pub struct TodoListOut {
    pub todos: Vec<TodoOut>,
    /// The relative URL of the next page (same order, filter and limit);
    /// `null` exactly when no further todo matches.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "email": "alice@example.com" }))]
pub struct OtpRequestIn {
    /// A plain `local@domain` address: no display name, quoted local part,
    /// IP literal or comment. Letter case is kept but not significant.
    #[schema(max_length = 256, format = Email)]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "email": "alice@example.com", "otp": "123456" }))]
pub struct OtpVerifyIn {
    /// The address the code was sent to, in any letter case.
    #[schema(max_length = 256, format = Email)]
    pub email: String,
    /// The six digits from the email.
    #[schema(pattern = "^[0-9]{6}$")]
    pub otp: String,
}

/// Body of PUT /users/me/password.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "current_password": "correct-horse", "new_password": "battery-staple" }))]
pub struct ChangePasswordIn {
    /// 1–1024 characters: the password the account has now.
    #[schema(min_length = 1, max_length = 1024, format = Password)]
    pub current_password: String,
    /// 8–1024 characters.
    #[schema(min_length = 8, max_length = 1024, format = Password)]
    pub new_password: String,
}

/// Body of DELETE /users/me.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "password": "correct-horse" }))]
pub struct DeleteAccountIn {
    /// 1–1024 characters: the account's password.
    #[schema(min_length = 1, max_length = 1024, format = Password)]
    pub password: String,
}

/// Body of POST /users/password/forgot.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "email": "alice@example.com" }))]
pub struct ForgotPasswordIn {
    /// The account's verified address, in any letter case.
    #[schema(max_length = 256, format = Email)]
    pub email: String,
}

/// Body of POST /users/password/reset.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "email": "alice@example.com", "code": "123456", "new_password": "battery-staple" }))]
pub struct ResetPasswordIn {
    /// The address the code was sent to, in any letter case.
    #[schema(max_length = 256, format = Email)]
    pub email: String,
    /// The six digits from the email.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
    /// 8–1024 characters.
    #[schema(min_length = 8, max_length = 1024, format = Password)]
    pub new_password: String,
}
