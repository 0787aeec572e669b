//! What both bench programs send: one runOnce as the library sends it, the answer decoded
//! into a struct (included by main.rs and network.rs with `#[path]`).

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TaskInfo {
    pub task_id: String,
    pub scheduled_task_id: String,
    pub scheduled_task_name: String,
    pub triggered_at: String,
    pub status: String,
}

/// POST /_api/rest/v1/task with `{"taskNameOrId":"billOnDemand"}` and the library's headers.
pub fn run_once(client: &reqwest::blocking::Client, url: &str) -> Result<TaskInfo, String> {
    let body = serde_json::to_vec(&serde_json::json!({ "taskNameOrId": "billOnDemand" }))
        .map_err(|e| e.to_string())?;
    let answer = client
        .post(url)
        .header("X-Client", "altogic-rust-reqwest")
        .header("X-Client-Key", "demo-client-key")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        // The debug form keeps the causes (a TLS failure's reason, say).
        .map_err(|e| format!("{e:?}"))?;
    let status = answer.status();
    let bytes = answer.bytes().map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}
