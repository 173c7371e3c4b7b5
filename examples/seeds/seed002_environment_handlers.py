"""Seed 002 (Locust 2.x "Events System"): environment-specific event handling (TEST_ENV)."""

from pytest_loadhooks import HttpUser, task, between, events
import os

def setup_environment_specific_handlers():
    """Setup different event handlers based on environment"""
    environment = os.getenv("TEST_ENV", "development")

    if environment == "production":
        # Production: minimal logging, external monitoring
        def prod_error_handler(user_instance, exception, tb, **kwargs):
            # Send to external monitoring service
            send_to_monitoring_service(str(exception))

        events.user_error.add_listener(prod_error_handler)

    elif environment == "staging":
        # Staging: detailed logging for debugging
        def staging_request_handler(request_type, name, response_time, response_length, exception, **kwargs):
            if exception or response_time > 2000:
                print(f"STAGING ALERT: {name} - {response_time}ms - {exception}")

        events.request.add_listener(staging_request_handler)

    else:
        # Development: verbose logging
        def dev_request_handler(**kwargs):
            print(f"DEV REQUEST: {kwargs}")

        events.request.add_listener(dev_request_handler)

# Setup environment-specific handling
setup_environment_specific_handlers()

class EnvironmentUser(HttpUser):
    wait_time = between(1, 3)

    @task
    def environment_test(self):
        self.client.get("/api/environment")
