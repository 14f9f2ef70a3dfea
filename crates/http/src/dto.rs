//! Request and response bodies, shaped as the old FastAPI service's.

use serde::{Deserialize, Serialize};
use todos_domain::{AccessToken, Todo, User};

#[derive(Debug, Deserialize)]
pub struct CredentialsIn {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize)]
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

#[derive(Debug, Serialize)]
pub struct TokenOut {
    pub access_token: String,
    pub token_type: &'static str,
}

impl From<AccessToken> for TokenOut {
    fn from(token: AccessToken) -> Self {
        Self {
            access_token: token.expose().to_owned(),
            token_type: "bearer",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct UserOut {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

impl From<User> for UserOut {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            username: user.username,
            email: user.email,
            email_verified: user.email_verified,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateTodoIn {
    pub contents: String,
    #[serde(default)]
    pub is_done: bool,
}

#[derive(Debug, Deserialize)]
pub struct UpdateTodoIn {
    pub is_done: bool,
}

#[derive(Debug, Serialize)]
pub struct TodoOut {
    pub id: i64,
    pub contents: String,
    pub is_done: bool,
}

impl From<Todo> for TodoOut {
    fn from(todo: Todo) -> Self {
        Self {
            id: todo.id.get(),
            contents: todo.contents,
            is_done: todo.is_done,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TodoListOut {
    pub todos: Vec<TodoOut>,
}

#[derive(Debug, Deserialize)]
pub struct OtpRequestIn {
    pub email: String,
}

#[derive(Debug, Deserialize)]
pub struct OtpVerifyIn {
    pub email: String,
    pub otp: String,
}
