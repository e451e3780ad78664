target_link_libraries(edgefleet PRIVATE fleet_client release trust)
