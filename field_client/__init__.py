"""蓝天巡检现场客户端 / Lantian Inspect offline field client."""
