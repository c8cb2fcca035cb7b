"""The preflight stages, in the order they run. Each module has one `check(subject, result)` that fills a
`StageResult` (findings and counts) and may hand something to later stages through the `Subject`."""
