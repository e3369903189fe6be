"""Photo evidence facts (capture time, GPS) read the same way by the server and the device.

Pure: Pillow and the standard library only; imports neither server nor field_client.
"""

from evidence.exif import ExifFacts, read_facts

__all__ = ["ExifFacts", "read_facts"]
