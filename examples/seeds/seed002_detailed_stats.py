"""Seed 002 (Locust 2.x "Events System"): custom statistics, written to detailed_stats.csv.

One difference from the seed: ``between`` is imported (the seed uses it without importing it).
"""

from pytest_loadhooks import HttpUser, task, events, between
import csv
import time
from collections import defaultdict

class DetailedStats:
    def __init__(self):
        self.start_time = time.time()
        self.requests_by_minute = defaultdict(list)
        self.errors_by_type = defaultdict(int)
        self.response_time_buckets = defaultdict(int)

    def on_request(self, request_type, name, response_time, response_length, exception, **kwargs):
        """Collect detailed request statistics"""
        minute = int((time.time() - self.start_time) // 60)

        # Track requests per minute
        self.requests_by_minute[minute].append({
            "type": request_type,
            "name": name,
            "response_time": response_time,
            "length": response_length,
            "success": exception is None
        })

        # Track errors by type
        if exception:
            error_type = type(exception).__name__
            self.errors_by_type[error_type] += 1

        # Response time buckets
        if response_time < 100:
            self.response_time_buckets["<100ms"] += 1
        elif response_time < 500:
            self.response_time_buckets["100-500ms"] += 1
        elif response_time < 1000:
            self.response_time_buckets["500ms-1s"] += 1
        elif response_time < 5000:
            self.response_time_buckets["1-5s"] += 1
        else:
            self.response_time_buckets[">5s"] += 1

    def on_test_stop(self, environment, **kwargs):
        """Generate detailed CSV report"""
        with open("detailed_stats.csv", "w", newline="") as csvfile:
            writer = csv.writer(csvfile)
            writer.writerow(["Minute", "Request_Type", "Name", "Response_Time", "Length", "Success"])

            for minute, requests in self.requests_by_minute.items():
                for req in requests:
                    writer.writerow([
                        minute, req["type"], req["name"],
                        req["response_time"], req["length"], req["success"]
                    ])

        # Print summary
        print("\n--- Response Time Distribution ---")
        for bucket, count in self.response_time_buckets.items():
            print(f"{bucket}: {count} requests")

        print("\n--- Error Summary ---")
        for error_type, count in self.errors_by_type.items():
            print(f"{error_type}: {count} occurrences")

# Initialize detailed stats collector
stats_collector = DetailedStats()
events.request.add_listener(stats_collector.on_request)
events.test_stop.add_listener(stats_collector.on_test_stop)

class AnalyticsUser(HttpUser):
    wait_time = between(0.5, 2)

    @task(3)
    def page_view(self):
        self.client.get("/page")

    @task(1)
    def api_call(self):
        self.client.get("/api/data")
