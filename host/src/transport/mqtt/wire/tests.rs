use super::*;

fn v4_connect(level_name: Option<(&str, &str)>) -> BytesMut {
    let mut c = v4::Connect::new("client-1");
    c.keep_alive = 30;
    if let Some((user, pass)) = level_name {
        c.set_login(user, pass);
    }
    let mut buf = BytesMut::new();
    v4::Packet::Connect(c).write(&mut buf, usize::MAX).unwrap();
    buf
}

/// A CONNECT with any protocol name and level, no payload but a client id.
fn raw_connect(name: &[u8], level: u8) -> BytesMut {
    let mut body = BytesMut::new();
    body.put_u16(name.len() as u16);
    body.put_slice(name);
    body.put_u8(level);
    body.put_u8(0x82); // user name, clean session
    body.put_u16(60);
    body.put_slice(b"\x00\x01c\x00\x03TOK");
    let mut out = BytesMut::new();
    out.put_u8(0x10);
    put_remaining_length(&mut out, body.len());
    out.put_slice(&body);
    out
}

#[test]
fn frames_are_found_by_their_header() {
    assert_eq!(frame_len(&[], 100), Ok(None));
    assert_eq!(frame_len(&[0x30], 100), Ok(None));
    assert_eq!(frame_len(&[0xC0, 0x00], 100), Ok(Some(2)));
    assert_eq!(frame_len(&[0x30, 0x03, 1, 2], 100), Ok(None));
    assert_eq!(frame_len(&[0x30, 0x03, 1, 2, 3, 9], 100), Ok(Some(5)));
    // 200 bytes of body: a two-byte length; too large is known before the body.
    assert_eq!(
        frame_len(&[0x30, 0xC8, 0x01], 100),
        Err(FrameError::TooLarge)
    );
    assert_eq!(frame_len(&[0x30, 0xC8, 0x01], 203), Ok(None));
    assert_eq!(frame_len(&[0x30, 0xFF, 0xFF, 0xFF], usize::MAX), Ok(None));
    assert_eq!(
        frame_len(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF], usize::MAX),
        Err(FrameError::Malformed)
    );
}

#[test]
fn connect_of_each_version_is_read() {
    let Opening::Hello(h) = decode_connect(v4_connect(Some(("TOKEN", "")))).unwrap() else {
        panic!("refused")
    };
    assert_eq!(
        (h.version, h.keep_alive, h.username.as_deref()),
        (Version::V311, 30, Some("TOKEN"))
    );
    let Opening::Hello(h) = decode_connect(v4_connect(Some(("", "pw")))).unwrap() else {
        panic!("refused")
    };
    assert_eq!(h.username, None, "an empty user name is no token");

    let Opening::Hello(h) = decode_connect(raw_connect(b"MQIsdp", 3)).unwrap() else {
        panic!("3.1 refused")
    };
    assert_eq!(
        (
            h.version,
            h.keep_alive,
            h.client_id.as_str(),
            h.username.as_deref()
        ),
        (Version::V311, 60, "c", Some("TOK"))
    );

    let mut props = v5::ConnectProperties::new();
    props.max_packet_size = Some(512);
    let c = v5::Connect {
        keep_alive: 5,
        client_id: String::new(),
        clean_start: true,
        properties: Some(props),
    };
    let login = v5::Login {
        username: "T5".into(),
        password: String::new(),
    };
    let mut buf = BytesMut::new();
    v5::Packet::Connect(c, None, Some(login))
        .write(&mut buf, None)
        .unwrap();
    let Opening::Hello(h) = decode_connect(buf).unwrap() else {
        panic!("refused")
    };
    assert_eq!(
        (h.version, h.username.as_deref(), h.max_packet),
        (Version::V5, Some("T5"), Some(512))
    );
}

#[test]
fn other_levels_and_other_openings_are_refused() {
    assert_eq!(
        decode_connect(raw_connect(b"MQTT", 3)).unwrap(),
        Opening::Unsupported { level: 3 }
    );
    assert_eq!(
        decode_connect(raw_connect(b"MQTT", 6)).unwrap(),
        Opening::Unsupported { level: 6 }
    );
    assert!(decode_connect(raw_connect(b"HTTP", 4)).is_err());
    assert!(decode_connect(BytesMut::from(&[0xC0u8, 0x00][..])).is_err());
    assert!(decode_connect(BytesMut::from(&[0x10u8, 0x01, 0x00][..])).is_err());

    let refuse = |level: u8| {
        let mut out = BytesMut::new();
        encode_connack(
            Version::to_refuse(level),
            ConnAckCode::UnsupportedProtocolVersion,
            &Limits::default(),
            &mut out,
        );
        out
    };
    assert_eq!(&refuse(3)[..], [0x20, 0x02, 0x00, 0x01]);
    assert_eq!(&refuse(6)[..], [0x20, 0x03, 0x00, 0x84, 0x00]);
}

#[test]
fn connack_codes_follow_each_version() {
    let limits = Limits {
        receive_max: 10,
        max_packet: 4096,
        assigned_client_id: Some("id".into()),
    };
    let mut buf = BytesMut::new();
    encode_connack(
        Version::V311,
        ConnAckCode::BadUserNameOrPassword,
        &limits,
        &mut buf,
    );
    assert_eq!(&buf[..], [0x20, 0x02, 0x00, 0x04]);
    buf.clear();
    encode_connack(Version::V311, ConnAckCode::NotAuthorized, &limits, &mut buf);
    assert_eq!(&buf[..], [0x20, 0x02, 0x00, 0x05]);
    buf.clear();
    encode_connack(Version::V5, ConnAckCode::NotAuthorized, &limits, &mut buf);
    assert_eq!(&buf[..], [0x20, 0x03, 0x00, 0x87, 0x00]);
    buf.clear();
    encode_connack(Version::V5, ConnAckCode::Accepted, &limits, &mut buf);
    let len = buf.len();
    let v5::Packet::ConnAck(ack) = v5::Packet::read(&mut buf, Some(len as u32)).unwrap() else {
        panic!("not a CONNACK")
    };
    let props = ack.properties.unwrap();
    assert_eq!(ack.code, v5::ConnectReturnCode::Success);
    assert_eq!(
        (props.receive_max, props.max_qos, props.max_packet_size),
        (Some(10), Some(1), Some(4096))
    );
    assert_eq!(props.assigned_client_identifier.as_deref(), Some("id"));
}

#[test]
fn packets_in_are_reduced_to_what_a_device_sends() {
    let mut buf = BytesMut::new();
    let mut p = v4::Publish::new("v1/devices/me/telemetry", QoS4::AtLeastOnce, "{}");
    p.pkid = 7;
    v4::Packet::Publish(p).write(&mut buf, usize::MAX).unwrap();
    assert_eq!(
        decode(Version::V311, &mut buf).unwrap(),
        Inbound::Publish(Publish {
            qos: 1,
            pkid: 7,
            topic: "v1/devices/me/telemetry".into(),
            payload: Bytes::from_static(b"{}"),
        })
    );
    let mut zero_disconnect = BytesMut::from(&[0xE0u8, 0x00][..]);
    assert_eq!(
        decode(Version::V5, &mut zero_disconnect).unwrap(),
        Inbound::Disconnect
    );
    let mut pubrel = BytesMut::from(&[0x62u8, 0x02, 0x00, 0x01][..]);
    assert!(matches!(
        decode(Version::V311, &mut pubrel).unwrap(),
        Inbound::Unexpected(_)
    ));
    let mut bad_qos = BytesMut::from(&[0x36u8, 0x05, 0x00, 0x01, b'a', 0x00, 0x01][..]);
    assert!(decode(Version::V311, &mut bad_qos).is_err());
}

#[test]
fn refusals_reach_mqtt_5_clients_and_are_left_out_for_3_1_1() {
    let mut buf = BytesMut::new();
    let refused = Outbound::PubAck {
        pkid: 9,
        refused: Some(Reason::PayloadFormatInvalid),
    };
    assert_eq!(
        encode(Version::V5, refused.clone(), None, &mut buf).unwrap(),
        Written::Yes
    );
    let len = buf.len();
    let v5::Packet::PubAck(ack) = v5::Packet::read(&mut buf, Some(len as u32)).unwrap() else {
        panic!("not a PUBACK")
    };
    assert_eq!(
        (ack.pkid, ack.reason),
        (9, v5::PubAckReason::PayloadFormatInvalid)
    );
    assert_eq!(
        encode(Version::V311, refused, None, &mut buf).unwrap(),
        Written::NotInThisVersion
    );
    assert!(buf.is_empty());

    encode(
        Version::V5,
        Outbound::Disconnect(Reason::PacketTooLarge),
        None,
        &mut buf,
    )
    .unwrap();
    let total = buf.len();
    assert_eq!(
        frame_len(&buf, usize::MAX),
        Ok(Some(total)),
        "framed as announced"
    );
    let v5::Packet::Disconnect(d) = v5::Packet::read(&mut buf, Some(total as u32)).unwrap() else {
        panic!("not a DISCONNECT")
    };
    assert_eq!(d.reason_code, v5::DisconnectReasonCode::PacketTooLarge);

    let big = Outbound::Publish {
        topic: "v1/devices/me/attributes".into(),
        payload: Bytes::from(vec![b'x'; 100]),
    };
    assert_eq!(
        encode(Version::V5, big, Some(50), &mut buf).unwrap(),
        Written::TooLargeForClient
    );
}

/// Random bytes through framing and decoding: errors, never a panic
/// (a panic would end the session task without an answer).
#[test]
fn random_bytes_never_panic() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..20_000 {
        let len = (next() % 40) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Mostly well-framed packets of every type, so the decoders see bodies.
        if let Some(first) = bytes.first_mut() {
            *first = (*first & 0xF0).max(0x10) | (*first & 0x0F);
        }
        if bytes.len() > 1 {
            bytes[1] = (bytes.len() - 2).min(127) as u8;
        }
        let version = if round % 2 == 0 {
            Version::V311
        } else {
            Version::V5
        };
        if let Ok(Some(n)) = frame_len(&bytes, 1 << 20) {
            let mut frame = BytesMut::from(&bytes[..n]);
            let _ = decode(version, &mut frame);
            let _ = decode_connect(BytesMut::from(&bytes[..n]));
        }
    }
}
