//! The HTTP routes: the two endpoints of the wire contract (docs/protocol.md) and the
//! `/_emulator` views.

use crate::log;
use crate::model::{iso, Status};
use crate::runner::Engine;
use crate::store::StoreError;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

/// An error answer: `{"errors":[{origin, code, message, details}]}`.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Value,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }
}

/// A change that could not be written: 503, the store's code, message and details.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: e.code,
            message: e.message,
            details: e.details,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let origin = if self.status.is_server_error() {
            "server_error"
        } else {
            "client_error"
        };
        let body = json!({"errors": [{
            "origin": origin,
            "code": self.code,
            "message": self.message,
            "details": self.details,
        }]});
        (self.status, Json(body)).into_response()
    }
}

pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route(
            "/_api/rest/v1/task",
            post(run_once).fallback(method_not_allowed_post),
        )
        .route(
            "/_api/rest/v1/task/{task_id}",
            get(task_status).fallback(method_not_allowed_get),
        )
        .route(
            "/_emulator/tasks",
            get(list_tasks).fallback(method_not_allowed_get),
        )
        .route(
            "/_emulator/executions",
            get(list_executions).fallback(method_not_allowed_get),
        )
        .fallback(not_found)
        .layer(middleware::from_fn(log_request))
        .with_state(engine)
}

async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let uri = req.uri().clone();
    let resp = next.run(req).await;
    log!(
        "request {method} {uri} {} {:.1} ms",
        resp.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    resp
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {method} {}", uri.path()),
    )
}

fn method_not_allowed(allow: &'static str, method: Method) -> Response {
    let mut resp = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here; use {allow}"),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

async fn method_not_allowed_post(method: Method) -> Response {
    method_not_allowed("POST", method)
}

async fn method_not_allowed_get(method: Method) -> Response {
    method_not_allowed("GET, HEAD", method)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .filter(|s| !s.is_empty())
}

/// Client key, then API key (when the app lists any), then session (when enforced).
fn authorize(engine: &Engine, headers: &HeaderMap) -> Result<(), ApiError> {
    let app = &engine.app;
    let unauthorized = |code, message: &str| ApiError::new(StatusCode::UNAUTHORIZED, code, message);
    let Some(key) = header_str(headers, "x-client-key") else {
        return Err(unauthorized(
            "missing_client_key",
            "the X-Client-Key header is missing",
        ));
    };
    let Some(client) = app.client_keys.get(key) else {
        return Err(unauthorized(
            "invalid_client_key",
            "the client key is not valid for this app",
        ));
    };
    if !app.api_keys.is_empty() {
        require_listed(
            header_str(headers, "authorization"),
            &app.api_keys,
            (
                "missing_api_key",
                "this app needs an API key in the Authorization header",
            ),
            ("invalid_api_key", "the API key is not valid"),
        )?;
    }
    if client.enforce_session {
        require_listed(
            header_str(headers, "session"),
            &app.session_tokens,
            (
                "missing_session_token",
                "this client key needs a session: the Session header is missing",
            ),
            ("invalid_session_token", "the session token is not valid"),
        )?;
    }
    Ok(())
}

/// A credential header that must be present and one of `allowed`; 401 with the `missing` or
/// `invalid` code and message otherwise.
fn require_listed(
    value: Option<&str>,
    allowed: &HashSet<String>,
    missing: (&'static str, &str),
    invalid: (&'static str, &str),
) -> Result<(), ApiError> {
    match value {
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            missing.0,
            missing.1,
        )),
        Some(v) if !allowed.contains(v) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            invalid.0,
            invalid.1,
        )),
        Some(_) => Ok(()),
    }
}

async fn run_once(
    State(engine): State<Arc<Engine>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&engine, &headers)?;
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_body", m);
    let body = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(status, "payload_too_large", "the request body is too large")
        } else {
            bad(format!("cannot read the request body: {e}"))
        }
    })?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("the request body is not valid JSON: {e}")))?;
    let name = match value.get("taskNameOrId") {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        Some(Value::String(_)) => return Err(bad("taskNameOrId is empty".into())),
        Some(_) => return Err(bad("taskNameOrId must be a string".into())),
        None if !value.is_object() => {
            return Err(bad("the request body must be a JSON object".into()))
        }
        None => return Err(bad("taskNameOrId is missing".into())),
    };
    let Some(task) = engine.app.find(name) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no scheduled task is named or has the id {name:?}"),
        ));
    };
    let exec = engine.trigger(task, "runOnce").await?;
    Ok(Json(exec.info()).into_response())
}

async fn task_status(
    State(engine): State<Arc<Engine>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    authorize(&engine, &headers)?;
    let found = match id {
        Ok(Path(id)) => engine.store.get(&id),
        // An id that does not even decode cannot name an execution.
        Err(_) => None,
    };
    Ok(match found {
        Some(e) => Json(e.info()).into_response(),
        None => Json(Value::Null).into_response(),
    })
}

async fn list_tasks(State(engine): State<Arc<Engine>>) -> Json<Value> {
    let tasks: Vec<Value> = engine
        .app
        .tasks
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "name": t.name,
                "enabled": t.enabled,
                "schedule": t.schedule.as_ref().map(|s| s.describe()),
                "service": t.service.describe(),
                "timeout": humantime::format_duration(t.timeout).to_string(),
                "nextRunAt": t.next_run.lock().unwrap().map(iso),
            })
        })
        .collect();
    Json(json!({ "now": iso(crate::model::now_ms()), "tasks": tasks }))
}

#[derive(Deserialize)]
struct ExecQuery {
    limit: Option<usize>,
    task: Option<String>,
    status: Option<String>,
}

async fn list_executions(
    State(engine): State<Arc<Engine>>,
    query: Result<Query<ExecQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("bad query string: {e}"),
        )
    })?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("unknown status {s:?}"),
            )
        })?),
    };
    let limit = q.limit.unwrap_or(100).min(100_000);
    let task = q.task;
    let (total, list) = engine.store.recent(limit, |e| {
        status.is_none_or(|s| e.status == s)
            && task.as_deref().is_none_or(|t| {
                e.scheduled_task_name == t || e.scheduled_task_id.eq_ignore_ascii_case(t)
            })
    });
    let executions: Vec<Value> = list.iter().map(|e| e.to_json()).collect();
    Ok(Json(json!({
        "total": total,
        "executions": executions,
    })))
}
