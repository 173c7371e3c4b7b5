"""A MarkovTaskSet whose chain is a fixed cycle: browse -> cart -> checkout -> browse.

Each transition has a single target, so the order of requests is known: every user starts
at the first task (browse) and walks the cycle.
"""

from pytest_loadhooks import HttpUser, MarkovTaskSet, constant, transition, transitions


class ShoppingJourney(MarkovTaskSet):
    @transition("cart")
    def browse(self):
        self.client.get("/page", name="browse")

    @transitions({"checkout": 1})
    def cart(self):
        self.client.get("/cart", name="cart")

    @transitions(["browse"])
    def checkout(self):
        self.client.post("/cart", name="checkout")


class Shopper(HttpUser):
    host = "http://localhost:8089"
    wait_time = constant(0.05)
    tasks = [ShoppingJourney]
