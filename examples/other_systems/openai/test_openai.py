"""A load test of an OpenAI-compatible API with OpenAIUser (issue 23):

    pip install 'pytest-loadhooks[openai]'
    python examples/target_app.py --port 8080 &     # answers /v1/chat/completions and /v1/responses
    OPENAI_API_KEY=anything pytest examples/other_systems/openai --load-users=5 --load-run-time=10s \\
        --load-host=http://127.0.0.1:8080/v1

Point --load-host at any OpenAI-compatible server (a vLLM or llama.cpp server, say) to test it.
Each HTTP request is one request event; its response length is the answer's output tokens.
"""

from pytest_loadhooks import between, task
from pytest_loadhooks.contrib.oai import OpenAIUser


class Assistant(OpenAIUser):
    wait_time = between(0.1, 0.5)

    @task(3)
    def chat(self):
        self.client.chat.completions.create(
            model="loadhooks-echo",
            messages=[{"role": "system", "content": "Answer briefly."},
                      {"role": "user", "content": "What does a p95 latency tell me?"}])

    @task(1)
    def respond(self):
        with self.client.rename_request("responses (short)"):
            self.client.responses.create(model="loadhooks-echo", instructions="Answer briefly.",
                                         input="Name one load-testing metric.")
