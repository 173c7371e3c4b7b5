"""Seed 002 (Locust 2.x "Events System"): external system integration through a webhook.

Differences from the seed: ``import time`` and ``between`` are imported (the seed uses
them without importing them), and the webhook URL can come from ``SEED_WEBHOOK_URL``
(the seed's https://monitoring.example.com is not reachable from a test; the test
points it at a local receiver).
"""

from pytest_loadhooks import HttpUser, task, events, between
import os
import requests
import json
import time

class ExternalReporter:
    def __init__(self, webhook_url):
        self.webhook_url = webhook_url
        self.test_start_time = None
        self.request_count = 0

    def on_test_start(self, environment, **kwargs):
        """Notify external system of test start"""
        self.test_start_time = time.time()
        payload = {
            "event": "test_start",
            "timestamp": self.test_start_time,
            "users": environment.runner.target_user_count if environment.runner else 0
        }
        self.send_webhook(payload)

    def on_request(self, request_type, name, response_time, response_length, exception, **kwargs):
        """Track request metrics"""
        self.request_count += 1

        # Send alerts for errors
        if exception:
            payload = {
                "event": "error",
                "timestamp": time.time(),
                "request_type": request_type,
                "name": name,
                "error": str(exception)
            }
            self.send_webhook(payload)

    def on_test_stop(self, environment, **kwargs):
        """Send final test report"""
        duration = time.time() - self.test_start_time
        payload = {
            "event": "test_complete",
            "timestamp": time.time(),
            "duration": duration,
            "total_requests": self.request_count,
            "stats": environment.stats.serialize_stats() if environment.stats else {}
        }
        self.send_webhook(payload)

    def send_webhook(self, payload):
        """Send webhook notification"""
        try:
            requests.post(self.webhook_url, json=payload, timeout=5)
        except Exception as e:
            print(f"Webhook failed: {e}")

# Initialize external reporter
reporter = ExternalReporter(os.environ.get("SEED_WEBHOOK_URL", "https://monitoring.example.com/webhook"))

# Register event listeners
events.test_start.add_listener(reporter.on_test_start)
events.request.add_listener(reporter.on_request)
events.test_stop.add_listener(reporter.on_test_stop)

class WebUser(HttpUser):
    wait_time = between(1, 2)

    @task
    def browse(self):
        self.client.get("/")
