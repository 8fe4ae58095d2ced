"""ThingsBoard's Python device SDK (PyPI tb-mqtt-client), unmodified, against
Clientele's MQTT endpoint: `tb_device_publish.py HOST PORT TOKEN`.

Connects with the access token (the SDK speaks MQTT 5 and subscribes to its
device topics), sends telemetry and client attributes at QoS 1 and waits
until each is acknowledged, then asks for the attributes back and prints
the answer as one line, `ATTRIBUTES {json}`. Exits 0 only if all of that
worked; the Rust test then reads the data over REST.
"""

import json
import sys
import threading
import time

from tb_device_mqtt import TBDeviceMqttClient

WAIT_S = 10


def wait_until(condition, what):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.02)


def published(info):
    """True once every part of an SDK publish has its PUBACK."""
    parts = info.message_info if isinstance(info.message_info, list) else [info.message_info]
    for part in parts:
        part.wait_for_publish(timeout=WAIT_S)
    return all(part.is_published() for part in parts) and info.rc() == 0


def main():
    host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    client = TBDeviceMqttClient(host, port=port, username=token)
    client.connect()
    try:
        wait_until(client.is_connected, "the connection")
        if not published(client.send_telemetry({"sdk_temperature": 42.5, "sdk_ok": True})):
            sys.exit("telemetry was not acknowledged")
        if not published(client.send_attributes({"sdk_firmware": "1.2.3"})):
            sys.exit("attributes were not acknowledged")

        answer = {}
        done = threading.Event()

        def on_attributes(content, error):
            answer["content"], answer["error"] = content, error
            done.set()

        client.request_attributes(client_keys=["sdk_firmware"], callback=on_attributes)
        if not done.wait(WAIT_S):
            sys.exit("no answer to the attribute request")
        if answer["error"] is not None:
            sys.exit(f"attribute request failed: {answer['error']}")
        # Marked: the SDK may run pip on import, which prints to stdout too.
        print("ATTRIBUTES " + json.dumps(answer["content"]), flush=True)
    finally:
        client.disconnect()
        client.stop()


if __name__ == "__main__":
    main()
