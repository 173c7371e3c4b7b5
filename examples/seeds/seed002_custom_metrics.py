"""Seed 002 (Locust 2.x "Events System"): custom metrics collection, saved to custom_metrics.json."""

from pytest_loadhooks import HttpUser, task, between, events
import time
import json

# Custom metrics storage
custom_metrics = {
    "api_calls": 0,
    "error_count": 0,
    "response_times": []
}

def on_request(request_type, name, response_time, response_length, exception, **kwargs):
    """Collect custom metrics on each request"""
    custom_metrics["api_calls"] += 1
    custom_metrics["response_times"].append(response_time)

    if exception:
        custom_metrics["error_count"] += 1

    # Log slow requests
    if response_time > 5000:  # 5 seconds
        print(f"SLOW REQUEST: {name} took {response_time}ms")

def on_test_stop(environment, **kwargs):
    """Report custom metrics at test end"""
    total_calls = custom_metrics["api_calls"]
    avg_response_time = sum(custom_metrics["response_times"]) / len(custom_metrics["response_times"])
    error_rate = custom_metrics["error_count"] / total_calls * 100

    print(f"\n--- Custom Metrics ---")
    print(f"Total API calls: {total_calls}")
    print(f"Average response time: {avg_response_time:.2f}ms")
    print(f"Error rate: {error_rate:.2f}%")

    # Save to file
    with open("custom_metrics.json", "w") as f:
        json.dump(custom_metrics, f, indent=2)

# Register event listeners
events.request.add_listener(on_request)
events.test_stop.add_listener(on_test_stop)

class APIUser(HttpUser):
    wait_time = between(1, 3)

    @task
    def api_call(self):
        self.client.get("/api/data")
