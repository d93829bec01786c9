"""暖新 (Nuanxin): the service-centre network for new-employment workers."""

__version__ = "0.1.0"
