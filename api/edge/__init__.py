"""The edge: what every request gets before and after the app (request ids, rate limits,
security headers, logs, metrics), and the event-loop server in front."""
