import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "testing"))  # fake_shaper, shared by the integrations
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))  # rest_shaper_client (the digest of op applied)
sys.path.insert(0, os.path.dirname(HERE))  # rest_trl
