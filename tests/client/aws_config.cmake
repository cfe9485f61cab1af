# The AWS conventions of kvsp (issue 19): credential configuration errors
# exit 4; endpoint_url / [services] / AWS_ENDPOINT_URL* and
# AWS_IGNORE_CONFIGURED_ENDPOINT_URLS in the SDKs' order against kvsp serve;
# TLS failures named against openssl s_server, AWS_CA_BUNDLE / ca_bundle
# (botocore's choice as the oracle); http(s)_proxy / no_proxy in both cases
# through a counting proxy, as botocore picks them; a down proxy named.
if(KVSP_CLI_CLIENT_SOURCES AND KVSP_SERVE_SOURCES AND MHD_FOUND)
  add_test(NAME client_aws_config
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/aws_config_test.py
                   $<TARGET_FILE:kvsp> ${RESOURCES})
  set_tests_properties(client_aws_config PROPERTIES TIMEOUT 240)
else()
  kvsp_missing_test(client_aws_config "${KVSP_MHD_MISSING}")
endif()
