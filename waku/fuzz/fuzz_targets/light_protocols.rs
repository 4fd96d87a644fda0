//! The request-response protocols a node answers for strangers and the
//! answers it reads from them (metadata, light push v2 and v3, filter, store,
//! peer exchange): no input may panic a decoder or the checks after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepair_waku::filter::{MessagePush, SubscribeRequest, SubscribeResponse};
use nodepair_waku::lightpush::{self, PROTOCOL_V2, PROTOCOL_V3};
use nodepair_waku::metadata::{self, Metadata};
use nodepair_waku::peer_exchange::{self, PeerExchangeRpc};
use nodepair_waku::store::{Query, StoreQueryRequest, StoreQueryResponse};
use prost::Message as _;

fuzz_target!(|data: &[u8]| {
    if let Ok(theirs) = Metadata::decode(data) {
        let _ = metadata::check(1, &[0, 1], &theirs);
    }
    for protocol in [PROTOCOL_V2, PROTOCOL_V3] {
        let _ = lightpush::decode_request(&protocol, data);
        let _ = lightpush::decode_response(&protocol, data);
    }
    if let Ok(request) = SubscribeRequest::decode(data) {
        let _ = request.request_type();
    }
    let _ = SubscribeResponse::decode(data);
    let _ = MessagePush::decode(data);
    if let Ok(request) = StoreQueryRequest::decode(data) {
        let _ = Query::parse(&request);
    }
    let _ = StoreQueryResponse::decode(data);
    if let Ok(rpc) = PeerExchangeRpc::decode(data) {
        let _ = peer_exchange::records(&rpc);
    }
});
