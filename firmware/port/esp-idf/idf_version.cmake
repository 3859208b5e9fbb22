# The ESP-IDF releases this project builds with, checked before anything else is configured so
# an unsupported one fails with one clear line instead of a missing symbol or component later:
#   5.3.3 and later 5.3.x, 5.4.2 and later 5.4.x, 5.5.x.
# Why: main/hal_ota.c resumes a firmware transfer after a power cut with esp_ota_resume, which
# exists only from 5.3.3, 5.4.2 and 5.5 on; ESP-IDF 6 no longer ships the mqtt component (it
# became a managed component), which main/CMakeLists.txt requires.
# firmware/test/idf-version.sh runs this with made-up versions (cmake -P).
function(hearth_check_idf_version major minor patch)
    set(version "${major}.${minor}.${patch}")
    set(supported FALSE)
    if("${major}" MATCHES "^[0-9]+$" AND "${minor}" MATCHES "^[0-9]+$" AND "${patch}" MATCHES "^[0-9]+$")
        if(major EQUAL 5 AND minor EQUAL 3 AND patch GREATER_EQUAL 3)
            set(supported TRUE)
        elseif(major EQUAL 5 AND minor EQUAL 4 AND patch GREATER_EQUAL 2)
            set(supported TRUE)
        elseif(major EQUAL 5 AND minor EQUAL 5)
            set(supported TRUE)
        endif()
    endif()
    if(NOT supported)
        message(FATAL_ERROR "Hearth plug: ESP-IDF ${version} is not supported; use 5.3.3 or a later "
            "5.3.x, 5.4.2 or a later 5.4.x, or 5.5.x. Earlier releases lack esp_ota_resume (firmware "
            "updates resumed after a power cut); ESP-IDF 6 no longer ships the mqtt component.")
    endif()
endfunction()
