#!/usr/bin/env python3
"""The seed system's interactive client, as its original client.py speaks to the server.

Every byte on the wire is what that client sends and expects (legacy-protocol.md): one
send() per message, recv(1024) for answers and recv(4096) for file bytes, a 1-second
receive timeout from the first command on, one `CHUNK RECEIVED` awaited per 4096-byte
chunk, and a download written piece by piece until one recv() returns exactly `EOF`. The test suite drives it through standard input as a person
would: the first line is `username:password`, then a command per line, each file command
followed by a line with the file name.

Usage: seed_client.py HOST PORT [--download-dir DIR] [--save-previews DIR]

Two options only say where files go; the seed client used its working folder for
downloads and printed previews without keeping them.
"""

import os
import socket
import sys

CHUNK_BYTES = 4096
TIMEOUT_SECONDS = 1.0
SHUTDOWN = "SERVER SHUTDOWN"


def parse_args(argv):
    if len(argv) < 3:
        sys.exit("usage: seed_client.py HOST PORT [--download-dir DIR] [--save-previews DIR]")
    options = {"host": argv[1], "port": int(argv[2]), "download_dir": ".", "preview_dir": None}
    rest = argv[3:]
    while rest:
        flag = rest.pop(0)
        if flag == "--download-dir" and rest:
            options["download_dir"] = rest.pop(0)
        elif flag == "--save-previews" and rest:
            options["preview_dir"] = rest.pop(0)
        else:
            sys.exit(f"unknown option {flag}")
    return options


def say(text):
    print(f"Server: {text}", flush=True)


def first_response(client):
    """The first answer to a command; the client exits when the server is shutting down."""
    response = client.recv(1024).decode(errors="replace")
    if SHUTDOWN in response:
        say(response)
        print("Server is shutting down. Exiting.", flush=True)
        client.close()
        sys.exit(0)
    return response


def recv_piece(client, size):
    data = client.recv(size)
    # The seed client looped on an empty read forever; a closed connection ends this one.
    if not data:
        raise ConnectionError("the server closed the connection")
    return data


def upload(client):
    filename = input("Enter filename to upload: ")
    if not os.path.isfile(filename):
        print(f"File {filename} not found.", flush=True)
        return
    client.send(b"UPLOAD")
    say(first_response(client))
    client.send(f"FILENAME:{filename}".encode())
    say(client.recv(1024).decode(errors="replace"))
    with open(filename, "rb") as source:
        while True:
            chunk = source.read(CHUNK_BYTES)
            if not chunk:
                break
            client.send(chunk)
            client.recv(1024)  # CHUNK RECEIVED
    client.send(b"EOF")
    say(client.recv(1024).decode(errors="replace"))


def download(client, download_dir):
    filename = input("Enter filename to download: ")
    client.send(b"DOWNLOAD")
    say(first_response(client))
    client.send(filename.encode())
    response = client.recv(1024).decode(errors="replace")
    say(response)
    if not response.startswith("FILE EXISTS"):
        return
    with open(os.path.join(download_dir, filename), "wb") as target:
        while True:
            data = recv_piece(client, CHUNK_BYTES)
            if data == b"EOF":
                break
            target.write(data)
    print(f"File {filename} downloaded.", flush=True)


def preview(client, preview_dir):
    filename = input("Enter filename to preview: ")
    client.send(b"PREVIEW")
    say(first_response(client))
    client.send(filename.encode())
    content = b""
    while True:
        data = recv_piece(client, 1024)
        if data == b"EOF":
            break
        if data.decode(errors="replace") == "FILE NOT FOUND":
            say("FILE NOT FOUND")
            return
        content += data
    print("Preview:", flush=True)
    print(content.decode(errors="replace"), flush=True)
    if preview_dir is not None:
        with open(os.path.join(preview_dir, os.path.basename(filename) + ".preview"), "wb") as saved:
            saved.write(content)


def delete(client):
    filename = input("Enter filename to delete: ")
    client.send(b"DELETE")
    say(first_response(client))
    client.send(filename.encode())
    say(client.recv(1024).decode(errors="replace"))


def list_files(client):
    client.send(b"LIST")
    listing = first_response(client)
    while True:
        data = recv_piece(client, 1024)
        if data == b"EOF":
            break
        listing += data.decode(errors="replace")
    say(listing)


def main():
    options = parse_args(sys.argv)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.connect((options["host"], options["port"]))
    say(client.recv(1024).decode(errors="replace"))
    try:
        credentials = input("Enter USERNAME:PASSWORD: ")
    except EOFError:
        client.close()
        return 1
    client.send(credentials.encode())
    response = client.recv(1024).decode(errors="replace")
    say(response)
    if "AUTH FAILED" in response or not response.startswith("AUTH SUCCESSFUL"):
        client.close()
        return 1
    timeout_set = False
    while True:
        try:
            command = input("Enter command (UPLOAD, DOWNLOAD, PREVIEW, DELETE, LIST, EXIT): ").strip()
        except EOFError:
            command = "EXIT"
        if command == "EXIT":
            client.close()
            print("Connection closed.", flush=True)
            return 0
        if not timeout_set:
            # The seed client set its 1-second timeout with its first command.
            client.settimeout(TIMEOUT_SECONDS)
            timeout_set = True
        try:
            if command == "UPLOAD":
                upload(client)
            elif command == "DOWNLOAD":
                download(client, options["download_dir"])
            elif command == "PREVIEW":
                preview(client, options["preview_dir"])
            elif command == "DELETE":
                delete(client)
            elif command == "LIST":
                list_files(client)
            else:
                client.send(command.encode())
                say(first_response(client))
        except socket.timeout:
            print("No response from the server within 1 s.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
