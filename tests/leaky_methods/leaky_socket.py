"""Leaky method (f): opens a socket to the host (an evaluation server it could probe for labels)."""

import socket

from w2sg.methods.base import train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent

CONFIG = {}  # filled by the test: {"port": a TCP port the test listens on at 127.0.0.1}


@register_method("leaky_socket", "Leaky: connects to a TCP server on the host.")
def leaky_socket(ctx, transfer, val, cfg):
    got = []
    try:
        with socket.create_connection(("127.0.0.1", CONFIG["port"]), timeout=3) as s:
            s.sendall(b"labels please\n")
            got.append("connected")
    except OSError:
        pass
    assert not got, f"LEAK: {got} to 127.0.0.1:{CONFIG['port']}"
    return train_student(ctx, transfer, SoftXent())
