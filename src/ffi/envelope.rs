//! The `{"info": TaskInfo|null, "errors": APIError|null}` envelope every task call answers
//! in C: the shape the official JavaScript client resolves to.

use serde::Serialize;

use crate::error::{codes, ApiError};
use crate::info::TaskInfo;
use crate::queue::Finality;
use crate::task::TaskResult;

#[derive(Serialize)]
struct Envelope<'a> {
    info: Option<&'a TaskInfo>,
    errors: Option<&'a ApiError>,
    /// For a watched wait's results only: whether this is its last.
    #[serde(rename = "final", skip_serializing_if = "Option::is_none")]
    last: Option<bool>,
}

/// Compact one-line JSON of a result. A wait's timeout keeps the last TaskInfo it saw in
/// `info`, beside the error.
pub(crate) fn envelope_json(result: TaskResult) -> String {
    queue_result_json(result, Finality::Only)
}

/// [`envelope_json`] of a result taken from a queue: a watched wait's results carry
/// `"final": false` (a status it found) or `"final": true` (its own result).
pub(crate) fn queue_result_json(result: TaskResult, finality: Finality) -> String {
    let last = match finality {
        Finality::Only => None,
        Finality::Progress => Some(false),
        Finality::Last => Some(true),
    };
    let envelope = match &result {
        Ok(info) => Envelope {
            info: info.as_ref(),
            errors: None,
            last,
        },
        Err(error) => Envelope {
            info: error.last_info.as_ref(),
            errors: Some(error),
            last,
        },
    };
    // Strings, numbers and already valid JSON always serialise.
    serde_json::to_string(&envelope).unwrap_or_else(|_| {
        let error = ApiError::client(
            codes::INTERNAL_ERROR,
            "the result could not be serialised",
            None,
        );
        format!(r#"{{"info":null,"errors":{}}}"#, error.to_json())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_info_side_by_side() {
        let info = TaskInfo::from_json(r#"{"taskId":"a","status":"pending","x":1.50}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            envelope_json(Ok(Some(info.clone()))),
            r#"{"info":{"taskId":"a","status":"pending","x":1.50},"errors":null}"#
        );
        assert_eq!(envelope_json(Ok(None)), r#"{"info":null,"errors":null}"#);
        let mut error = ApiError::client(codes::TIMEOUT, "slow", None);
        error.last_info = Some(info);
        assert_eq!(
            envelope_json(Err(error)),
            r#"{"info":{"taskId":"a","status":"pending","x":1.50},"errors":{"status":0,"statusText":"Client Error","items":[{"origin":"client_error","code":"timeout","message":"slow","details":null}]}}"#
        );
    }
}
