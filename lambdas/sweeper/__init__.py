"""The sweeper: finds orders left mid-way (nothing running will finish them) and repairs the safe ones.

handler.py (scheduled, thin) -> service.py (the use cases, shared with `orderctl sweep|repair`)
-> logic.py (pure: what is stuck, what repairs it) and adapters.py (boto3).
"""
